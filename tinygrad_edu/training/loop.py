"""One training loop for every model and data set of the CLI.

    for epoch in epochs:
        for x, y in shuffled batches:      logits = model(x); loss = cross_entropy(logits, y)
                                           optimizer.zero_grad(); loss.backward(); optimizer.step()
                                           scheduler.step()            # learning rate per step
        evaluate on the test images;  save a checkpoint;  draw the curves

**Warm restarts.**  ``init_from`` starts a *new* run from another run's model weights, with a fresh
optimizer and a fresh learning-rate schedule (SGDR's "warm restart", Loshchilov & Hutter 2017): a
second cosine cycle lets a model that stopped while still underfitting keep improving.

**Resuming is exact.**  Everything random in an epoch (the shuffle, the crops and flips, dropout
masks) is drawn from generators seeded with ``(seed, epoch)``, and a checkpoint is written
atomically at the end of every epoch with the model, the optimizer, the scheduler and the history.
So ``--resume`` after epoch k continues exactly as the uninterrupted run would have.

**Extending a run re-plans its schedule.**  The learning-rate schedule spans ``epochs`` epochs.
Resumed with more epochs (``--epochs 5 --resume`` on a finished 3-epoch run), the scheduler is
built anew for the new total and fast-forwarded through the steps already taken: from then on the
learning rate is the one the longer schedule would have at that step (OneCycle's warm-up and
annealing stretch over the new total; the steps already taken keep the rates they had).  Resumed
with the same total, the saved scheduler state is restored as it was, so nothing changes.

Where a run folder comes from, and when it may be resumed or extended, is decided once for every
command by ``run_folder.start_or_resume``; this loop only trains, saves and plots.
"""
import contextlib
import dataclasses
import os
import time
import warnings

import numpy as np

from .. import no_grad, from_numpy, manual_seed
from ..nn import functional as F
from .datasets import augment_batch
from .restore import load_weights
from .run_folder import CHECKPOINT, HISTORY_FILE, RunFolderError, read_checkpoint, write_json_atomic


ACTIVATIONS_FILE, ACTIVATIONS_PLOT = "activations.json", "activations.png"   # --log-activations

DISTRIBUTED_HELP = ("data parallelism over MPI: start with `mpiexec -n N python -m tinygrad_edu ...` (or "
                    "srun); each of the N ranks trains on its share of every global batch, and --batch-size "
                    "is the batch PER RANK (as in torch DDP): the global batch is N x --batch-size")


def setup_distributed(enabled, batch_size=None, what="batch"):
    """``--distributed``: join the MPI world and return its size (1 when not ``enabled``).

    Every rank but 0 sends its standard output to /dev/null (one set of outputs: rank 0 prints the
    progress and the logs; errors still reach stderr).  The first line says how the global batch is
    made; without a launcher (a world of one) one line says the run is a single process."""
    import sys
    if not enabled:
        return 1
    from ..distributed import world
    size = world.init()
    if size == 1:
        print("--distributed: a world of 1 process (no MPI launcher, or mpi4py missing): training as a "
              "single process", flush=True)
        return 1
    if not world.is_main_process():
        sys.stdout = open(os.devnull, "w")
    return size


def global_batch_line(world_size, batch_size, what="batch"):
    """The first line of a distributed run (printed once the run's batch size is known)."""
    return f"distributed: {world_size} ranks x {what} {batch_size} = global {what} {world_size * batch_size}"


def _saved_global_batch(ckpt, default):
    """The global batch a checkpoint was trained with: recorded by distributed runs; a single-process
    run's is its config's batch size (``default`` when there is no checkpoint)."""
    if not ckpt:
        return default
    progress, config = ckpt.get("progress") or {}, ckpt.get("config") or {}
    return int(progress.get("global_batch", config.get("batch_size", default)))


def _progress(progress, global_batch, world_size):
    """A checkpoint's progress entry; distributed runs also record their global batch."""
    return dict(progress, global_batch=global_batch) if world_size > 1 else progress


def rank_share(batch, world_size, rank):
    """This rank's share of a global batch (indices or an array): every ``world_size``-th item from
    ``rank`` (DistributedSampler's split, applied to each global batch)."""
    return batch[rank::world_size]


@dataclasses.dataclass
class TrainConfig:
    model: str = "vgg_mini"
    dataset: str = "mnist"
    epochs: int = 2
    batch_size: int = 64
    lr: float = 0.05
    optimizer: str = "sgd"          # sgd (momentum 0.9, nesterov) | adam | adamw
    weight_decay: float = 5e-4
    scheduler: str = "onecycle"     # onecycle | cosine | none
    label_smoothing: float = 0.0
    augment: bool = None            # None: the data set's default (crops and flips for CIFAR-10)
    seed: int = 0
    max_steps: int = None           # stop early (smoke runs)
    limit_train: int = None         # train on the first N images only (smoke runs)
    limit_test: int = None          # evaluate on the first N test images only (smoke runs)
    eval_batch_size: int = 500
    data: str = None
    init_from: str = None           # start from this checkpoint's model weights (fresh optimizer, schedule)


def make_optimizer(config, params):
    from .. import optim
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; expected sgd, adam or adamw")


def make_scheduler(config, optimizer, total_steps):
    from ..optim import lr_scheduler
    if config.scheduler == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    if config.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.scheduler == "none":
        return None
    raise ValueError(f"unknown scheduler {config.scheduler!r}; expected onecycle, cosine or none")


def _scheduled_steps(scheduler):
    """The length a scheduler was planned for (None for no scheduler)."""
    if scheduler is None:
        return None
    return getattr(scheduler, "total_steps", getattr(scheduler, "T_max", None))


def replan_scheduler(config, optimizer, total_steps, steps_done):
    """A scheduler planned for ``total_steps``, fast-forwarded through ``steps_done`` steps: the
    optimizer's learning rate (and OneCycle's momentum) becomes the new plan's value at that step."""
    for group in optimizer.param_groups:               # the plan starts where the first one did
        group["lr"] = group.get("initial_lr", group["lr"])
    scheduler = make_scheduler(config, optimizer, total_steps)
    with warnings.catch_warnings():                    # stepping without optimizer steps, on purpose
        warnings.simplefilter("ignore")
        for _ in range(steps_done):
            scheduler.step()
    return scheduler


TTA_MODES = ("none", "flip", "flip-translate")


def _check_tta_mode(mode):
    if mode not in TTA_MODES:
        raise ValueError(f"evaluate: unknown test-time augmentation {mode!r}; expected one of {TTA_MODES}")


def tta_views(images, mode):
    """The (weight, view) pairs that test-time augmentation averages over, for a batch (N, C, H, W).

    ``"none"``: the image itself.  ``"flip"``: the image and its mirror image, ½ each.
    ``"flip-translate"`` (airbench's level-2 TTA): ½ for the flip pair of the image itself and ½ for the flip
    pairs of two copies shifted by one pixel diagonally (up-left and down-right, the border reflected), so
    six views weighted ¼, ¼, ⅛, ⅛, ⅛, ⅛.  The weights sum to 1, so the averaged softmax is a distribution."""
    _check_tta_mode(mode)
    if mode == "none":
        return [(1.0, images)]

    def flip_pair(batch, weight):
        return [(weight / 2, batch), (weight / 2, np.ascontiguousarray(batch[..., ::-1]))]

    if mode == "flip":
        return flip_pair(images, 1.0)
    if images.ndim != 4:
        raise ValueError("evaluate: flip-translate needs image batches (N, C, H, W), "
                         f"got shape {images.shape}")
    height, width = images.shape[2:]
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    shifted_down_right = np.ascontiguousarray(padded[:, :, :height, :width])
    shifted_up_left = np.ascontiguousarray(padded[:, :, 2:, 2:])
    return flip_pair(images, 0.5) + flip_pair(shifted_down_right, 0.25) + flip_pair(shifted_up_left, 0.25)


def evaluate(model, x, y, batch_size=500, tta="none"):
    """(accuracy, mean loss, predictions) of ``model`` on arrays ``x``/``y``, without a graph.

    ``tta`` (test-time augmentation, see ``tta_views``): with ``"flip"`` or ``"flip-translate"`` each
    image's class probabilities are the weighted mean of the model's softmax over shifted and mirrored
    copies of it, for models trained with random crops and flips; the loss is the negative log of that
    mean."""
    _check_tta_mode(tta)             # before any work, not at the first batch
    was_training = model.training
    model.eval()
    predictions = np.empty(len(x), np.int64)
    loss_sum = 0.0
    with no_grad():
        for start in range(0, len(x), batch_size):
            images = x[start:start + batch_size]
            target = from_numpy(y[start:start + batch_size])
            if tta == "none":
                logits = model(from_numpy(images))
                loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
                predictions[start:start + batch_size] = logits.array.argmax(axis=1)
                continue
            probs = sum(F.softmax(model(from_numpy(view)), dim=1) * weight
                        for weight, view in tta_views(images, tta))
            loss_sum += F.nll_loss(probs.log(), target, reduction="sum").item()
            predictions[start:start + batch_size] = probs.array.argmax(axis=1)
    model.train(was_training)
    return float((predictions == y).mean()), loss_sum / max(len(x), 1), predictions


def confusion_matrix(y_true, y_pred, num_classes):
    """counts[i, j] = how many images of class i were predicted as class j."""
    counts = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def save_checkpoint(path, model, optimizer, scheduler, config, progress, history):
    from .. import save
    save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
          "scheduler": scheduler.state_dict() if scheduler is not None else {},
          "config": dataclasses.asdict(config), "progress": progress,
          "history": history}, path)


def load_model_weights(model, path):
    """Copy the model weights of the training checkpoint at ``path`` into ``model`` (strict: every
    name and shape must match).  Raises ValueError (a ``RunFolderError``) naming the file and the
    mismatch."""
    ckpt = read_checkpoint(path, "initialise the model from")
    load_weights(model, ckpt["model"], "the model", f"cannot initialise the model from {path}")


def fit(model, data, config, out_dir, resume=False, log=print, progress_bar=True, distributed=False,
        log_activations=None):
    """Train ``model`` on ``data`` (an ``ImageData``) as ``config`` says; returns the history.

    ``resume=True`` continues from ``out_dir``'s checkpoint (model, optimizer, schedule, history);
    with a larger ``config.epochs`` than the checkpoint's the schedule is re-planned (see above).

    ``log_activations=N`` (``--log-activations``) records every N-th step's activation, gradient and
    update statistics (``explain.ActivationStatistics``) and writes them after every epoch to
    activations.json and activations.png in ``out_dir`` (a resumed run continues the file).  It only
    reads the model, so training is the same with or without it; it is not part of ``config`` (not the
    run's identity: it may be switched on or off on any invocation, --resume included).

    ``distributed=True`` (after ``setup_distributed``), with N ranks: ``config.batch_size`` is the
    batch per rank and the global batch B = N x batch_size.  Every rank draws the same epoch order
    and the same global batches (so the schedule, ceil(len / B) steps per epoch, depends on B only),
    augments the global batch with the same generator, and trains on its share ``rank::N`` of it,
    in ``DistributedDataParallel`` (the gradients are averaged).  A last global batch with fewer than
    N images is dropped, so no rank is left without data.  Evaluation: each rank scores its share
    ``rank::N`` of the test set and the (count-weighted) averages are exact over the whole set.
    Rank 0 alone writes the checkpoint (the plain model's state_dict, without "module.", so N ranks
    and one process read each other's checkpoints), the plot and history.json; then a barrier."""
    from tqdm import tqdm
    from .plots import plot_history
    from ..distributed import world

    world_size, rank = (world.get_world_size(), world.get_rank()) if distributed else (1, 0)
    main = rank == 0
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    ckpt = read_checkpoint(ckpt_path) if resume else None
    global_batch = config.batch_size * world_size
    saved_global = _saved_global_batch(ckpt, global_batch)
    if saved_global != global_batch:       # resumed by another number of ranks: keep the global batch
        if saved_global % world_size:
            raise RunFolderError(f"cannot resume a run with global batch {saved_global} on {world_size} "
                                 "ranks: the number of ranks must divide it")
        config = dataclasses.replace(config, batch_size=saved_global // world_size)
        log(f"resumed with the run's global batch {saved_global}: {world_size} rank(s) x batch "
            f"{config.batch_size}")
        global_batch = saved_global
    steps_per_epoch = -(-len(data.x_train) // global_batch)
    if world_size > 1 and 0 < len(data.x_train) % global_batch < world_size:
        steps_per_epoch -= 1                    # a last batch too small to give every rank an image
    optimizer = make_optimizer(config, model.parameters())
    # the schedule spans every epoch; --max-steps only stops early, so a run stopped by it and then
    # resumed follows exactly the schedule of an uninterrupted run
    total_steps = max(steps_per_epoch * config.epochs, 1)
    scheduler = make_scheduler(config, optimizer, total_steps)
    history = {"epoch": [], "train_loss": [], "test_loss": [], "test_acc": [], "lr": [], "seconds": []}
    start_epoch, step = 0, 0
    if resume:
        load_weights(model, ckpt["model"], f"model {config.model!r}", f"cannot resume from {ckpt_path}")
        optimizer.load_state_dict(ckpt["optimizer"])
        history = ckpt["history"]
        start_epoch, step = ckpt["progress"]["epoch"], ckpt["progress"]["step"]
        saved = ckpt.get("scheduler") or {}
        planned = saved.get("total_steps", saved.get("T_max"))
        if scheduler is not None and planned == _scheduled_steps(scheduler):
            scheduler.load_state_dict(saved)
        elif scheduler is not None:
            scheduler = replan_scheduler(config, optimizer, total_steps, step)
            log(f"re-planned the {config.scheduler} schedule for {config.epochs} epochs ({total_steps} "
                f"steps instead of {planned})")
        log(f"resumed from {ckpt_path} after epoch {start_epoch} (step {step})")
        if start_epoch >= config.epochs:
            log(f"nothing to train: the run has finished its {config.epochs} epochs (raise epochs to "
                "extend it)")
    elif config.init_from:
        load_model_weights(model, config.init_from)
        log(f"initialised the model from {config.init_from} (fresh optimizer and schedule)")
    augment = data.augment if config.augment is None else config.augment
    net = model
    if world_size > 1:
        from ..distributed import DistributedDataParallel
        net = DistributedDataParallel(model)    # every rank starts from rank 0's weights
        progress_bar = progress_bar and main

    stats = _activation_statistics(model, out_dir, log_activations, step, resume, log) if main else None
    model.train()
    with stats if stats is not None else contextlib.nullcontext():   # the hooks go, even on an error
        for epoch in range(start_epoch, config.epochs):
            if config.max_steps is not None and step >= config.max_steps:
                break
            rng = np.random.default_rng([config.seed, epoch])
            manual_seed(config.seed * 100_003 + epoch + 7_919 * rank)  # dropout masks of this epoch
            order = rng.permutation(len(data.x_train))
            n_steps = steps_per_epoch
            if config.max_steps is not None:
                n_steps = min(n_steps, config.max_steps - step)
            bar = tqdm(range(n_steps), desc=f"epoch {epoch + 1}/{config.epochs}", unit="step",
                       leave=False, disable=not progress_bar, dynamic_ncols=True)
            loss_sum, seen, started = 0.0, 0, time.perf_counter()
            for i in bar:
                idx = order[i * global_batch:(i + 1) * global_batch]
                x = data.x_train[idx]
                if augment:
                    x = augment_batch(x, rng)
                x, idx = rank_share(x, world_size, rank), rank_share(idx, world_size, rank)
                loss = F.cross_entropy(net(from_numpy(x)), from_numpy(data.y_train[idx]),
                                       label_smoothing=config.label_smoothing)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                if stats is not None:
                    stats.step(optimizer)
                if scheduler is not None:
                    scheduler.step()
                step += 1
                loss_sum += loss.item() * len(idx)
                seen += len(idx)
                if i % 10 == 0 or i == n_steps - 1:
                    bar.set_postfix(loss=f"{loss_sum / seen:.4f}",
                                    lr=f"{optimizer.param_groups[0]['lr']:.4g}",
                                    img_per_s=f"{seen / (time.perf_counter() - started):,.0f}", refresh=False)
            bar.close()
            seconds = time.perf_counter() - started
            if world_size > 1:
                from ..distributed import average_metrics
                acc, test_loss, _ = evaluate(model, rank_share(data.x_test, world_size, rank),
                                             rank_share(data.y_test, world_size, rank),
                                             config.eval_batch_size)
                n_test = len(rank_share(data.y_test, world_size, rank))
                metrics = average_metrics({"acc": acc, "loss": test_loss}, count=n_test)
                acc, test_loss = metrics["acc"], metrics["loss"]
                trained = average_metrics({"loss": loss_sum / max(seen, 1)}, count=seen)
                loss_sum, seen = trained["loss"] * seen * world_size, seen * world_size
            else:
                acc, test_loss, _ = evaluate(model, data.x_test, data.y_test, config.eval_batch_size)
            for key, value in (("epoch", epoch + 1), ("train_loss", loss_sum / max(seen, 1)),
                               ("test_loss", test_loss), ("test_acc", acc),
                               ("lr", optimizer.param_groups[0]["lr"]), ("seconds", seconds)):
                history[key].append(value)
            log(f"epoch {epoch + 1}/{config.epochs}: train loss {loss_sum / max(seen, 1):.4f}, test loss "
                f"{test_loss:.4f}, test accuracy {100 * acc:.2f}%  ({n_steps} steps, {seconds:.1f} s, "
                f"{seen / max(seconds, 1e-9):,.0f} images/s)")
            if main:
                save_checkpoint(ckpt_path, model, optimizer, scheduler, config,
                                _progress({"epoch": epoch + 1, "step": step}, global_batch, world_size),
                                history)
                plot_history(history, os.path.join(out_dir, "curves.png"),
                             title=f"{config.model} on {config.dataset}")
                write_json_atomic(os.path.join(out_dir, HISTORY_FILE), history)
                if stats is not None:
                    _save_activation_statistics(stats, out_dir, log)
            if world_size > 1:
                world.barrier()                     # the checkpoint is complete before any rank goes on
    return history


def _activation_statistics(model, out_dir, every, step, resume, log):
    """``--log-activations``: an ``ActivationStatistics`` on ``model`` recording every ``every``-th step
    (None when ``every`` is None); a resumed run continues the records of its activations.json."""
    if every is None:
        return None
    from ..explain.activation_stats import ActivationStatistics, load
    path = os.path.join(out_dir, ACTIVATIONS_FILE)
    previous = None
    if resume and os.path.isfile(path):
        try:
            previous = load(path)
        except (ValueError, OSError) as exc:
            log(f"--log-activations: cannot continue {path} ({exc}); starting new records")
    return ActivationStatistics(model, every=every, start_step=step, previous=previous)


def _save_activation_statistics(stats, out_dir, log):
    """activations.json and activations.png into ``out_dir``, and a line saying where they are."""
    from ..explain.activation_stats import plot_activation_statistics
    json_path = stats.save(os.path.join(out_dir, ACTIVATIONS_FILE))
    png_path = plot_activation_statistics(stats, os.path.join(out_dir, ACTIVATIONS_PLOT))
    log(f"activation statistics of {len(stats.records)} recorded steps (every {stats.every}): {json_path}, "
        f"{png_path}")
