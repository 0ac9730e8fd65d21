"""The main job's loop: train a multi-layer perceptron on MNIST and report its test accuracy.

    python -m tinygrad_edu                    # 784-256-256-10 MLP, 3 epochs of Adam, batch 128
    python -m tinygrad_edu --max-steps 100    # a quick smoke run

This is the whole deep-learning loop, written exactly as one would write it in PyTorch:

    for each epoch:
        shuffle the 60,000 training images
        for each batch of 128:  logits = model(x);  loss = cross_entropy(logits, y)
                                optimizer.zero_grad();  loss.backward();  optimizer.step()
    with no_grad():  accuracy = (argmax(model(x_test)) == y_test).mean()   # the 10,000 test images

With a run folder (``--out``) it also saves a checkpoint and ``history.json`` after every epoch, and
``resume=True`` continues from there exactly: the shuffles come from one generator seeded once, so the
resumed run first draws (and skips) the orders of the epochs already done.  The learning rate is
constant, so raising ``epochs`` on resume simply trains more epochs.
"""
import dataclasses
import os
import sys
import time

import numpy as np

# The training set's pixel mean and standard deviation (after scaling to [0, 1]): inputs are standardised.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclasses.dataclass
class MLPJobConfig:
    epochs: int = 3
    batch_size: int = 128
    lr: float = 1e-3                # the command line's default: 1e-3 for Adam, 0.05 for SGD
    optimizer: str = "adam"         # adam | sgd (momentum 0.9)
    seed: int = 0
    max_steps: int = None           # stop after this many steps in all (smoke runs)
    data: str = None                # folder of the MNIST files (default $TINYGRAD_EDU_DATA, the cache)
    download: bool = True


def build_model(hidden=256):
    """784 → 256 → 256 → 10 with ReLU between: about 270,000 parameters."""
    from .. import nn
    return nn.Sequential(
        nn.Linear(28 * 28, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def prepare_images(images):
    """uint8 (N, 28, 28) → float32 (N, 784), standardised."""
    x = images.reshape(len(images), -1).astype(np.float32) / 255.0
    return (x - np.float32(MNIST_MEAN)) / np.float32(MNIST_STD)


def evaluate(model, x, y, batch_size=1000):
    """Fraction of ``x`` classified as ``y``, computed without recording a graph."""
    import tinygrad_edu as tg
    model.eval()
    correct = 0
    with tg.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(tg.from_numpy(x[start:start + batch_size]))
            correct += int((logits.numpy().argmax(axis=1) == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def make_optimizer(name, params, lr):
    from .. import optim
    if name == "adam":
        return optim.Adam(params, lr=lr)
    return optim.SGD(params, lr=lr, momentum=0.9)


def train(config, out_dir=None, resume=False, out=None, progress_bar=True, distributed=False):
    """Run the job; returns the test accuracy.  ``out_dir``: the run folder to save into (or None);
    ``out``: where the report goes (default: ``sys.stdout``).

    ``distributed=True`` with N ranks: ``config.batch_size`` is the batch per rank; every rank draws
    the same global batches of N x batch_size images (ceil(60,000 / global) steps per epoch, the
    schedule of one process with the global batch) and trains on its share ``rank::N`` in
    DistributedDataParallel.  Rank 0 alone scores the whole test set (returns None elsewhere) and
    writes the run folder, then a barrier."""
    from tqdm import tqdm
    import tinygrad_edu as tg
    from ..data import MNIST
    from ..nn import functional as F
    from .restore import load_weights
    from .run_folder import CHECKPOINT, HISTORY_FILE, RunFolderError, read_checkpoint, write_json_atomic
    from ..distributed import world
    from .loop import _progress, _saved_global_batch
    out = sys.stdout if out is None else out
    world_size, rank = (world.get_world_size(), world.get_rank()) if distributed else (1, 0)
    main = rank == 0

    train_set = MNIST(config.data, train=True, download=config.download)
    test_set = MNIST(config.data, train=False, download=config.download)
    x_train, y_train = prepare_images(train_set.images), train_set.labels
    x_test, y_test = prepare_images(test_set.images), test_set.labels

    tg.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model()
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"MLP 784-256-256-10: {n_params:,} parameters; {len(x_train):,} training and {len(x_test):,} test "
          f"images; {config.optimizer} lr={config.lr:g}, batch {config.batch_size}", file=out, flush=True)

    history = {"epoch": [], "train_loss": [], "test_acc": []}
    start_epoch, step = 0, 0
    if resume:
        ckpt_path = os.path.join(out_dir, CHECKPOINT)
        ckpt = read_checkpoint(ckpt_path)
        load_weights(model, ckpt["model"], "the model", f"cannot resume from {ckpt_path}")
        optimizer.load_state_dict(ckpt["optimizer"])
        history, start_epoch, step = ckpt["history"], ckpt["progress"]["epoch"], ckpt["progress"]["step"]
        for _ in range(start_epoch):           # the orders of the epochs already done
            rng.permutation(len(x_train))
        print(f"resumed from {ckpt_path} after epoch {start_epoch} (step {step})", file=out, flush=True)
        saved_global = _saved_global_batch(ckpt, config.batch_size * world_size)
        if saved_global != config.batch_size * world_size:   # another number of ranks: same global batch
            if saved_global % world_size:
                raise RunFolderError(f"cannot resume a run with global batch {saved_global} on "
                                     f"{world_size} ranks: the number of ranks must divide it")
            config = dataclasses.replace(config, batch_size=saved_global // world_size)
            print(f"resumed with the run's global batch {saved_global}: {world_size} rank(s) x batch "
                  f"{config.batch_size}", file=out, flush=True)

    global_batch = config.batch_size * world_size
    steps_per_epoch = -(-len(x_train) // global_batch)
    if world_size > 1 and 0 < len(x_train) % global_batch < world_size:
        steps_per_epoch -= 1                  # a last batch too small to give every rank an image
    net = model
    if world_size > 1:
        from ..distributed import DistributedDataParallel, sum_metrics
        net = DistributedDataParallel(model)
        progress_bar = progress_bar and main
    model.train()
    for epoch in range(start_epoch + 1, config.epochs + 1):
        if config.max_steps is not None and step >= config.max_steps:
            break
        order = rng.permutation(len(x_train))
        n_steps = steps_per_epoch if config.max_steps is None else min(steps_per_epoch,
                                                                       config.max_steps - step)
        bar = tqdm(range(n_steps), desc=f"epoch {epoch}/{config.epochs}", unit="step", leave=False,
                   disable=not progress_bar or None, dynamic_ncols=True)
        loss_sum, seen, start = 0.0, 0, time.perf_counter()
        for i in bar:
            idx = order[i * global_batch:(i + 1) * global_batch][rank::world_size]   # this rank's share
            logits = net(tg.from_numpy(x_train[idx]))
            loss = F.cross_entropy(logits, tg.from_numpy(y_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if i % 20 == 0 or i == n_steps - 1:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}",
                                img_per_s=f"{seen / (time.perf_counter() - start):,.0f}", refresh=False)
        step += n_steps
        if world_size > 1:                    # the epoch's loss over every rank's images
            totals = sum_metrics({"loss_sum": loss_sum, "seen": seen})
            loss_sum, seen = totals["loss_sum"], int(totals["seen"])
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch}/{config.epochs}: train loss {loss_sum / max(seen, 1):.4f}  "
              f"({n_steps} steps, {elapsed:.1f} s, {seen / elapsed:,.0f} images/s)", file=out, flush=True)
        if out_dir is not None and main:
            history["epoch"].append(epoch)
            history["train_loss"].append(loss_sum / max(seen, 1))
            history["test_acc"].append(evaluate(model, x_test, y_test))
            tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "config": dataclasses.asdict(config),
                     "progress": _progress({"epoch": epoch, "step": step}, global_batch, world_size),
                     "history": history}, os.path.join(out_dir, CHECKPOINT))
            write_json_atomic(os.path.join(out_dir, HISTORY_FILE), history)
        if world_size > 1 and out_dir is not None:
            world.barrier()                   # the checkpoint is complete before any rank goes on

    if not main:
        return None
    accuracy = evaluate(model, x_test, y_test)
    print(f"test accuracy: {100 * accuracy:.2f}% ({round(accuracy * len(x_test))}/{len(x_test)})",
          file=out, flush=True)
    return accuracy
