"""Train a character-level mini-GPT on tinyshakespeare, the way nanoGPT's CPU recipe does.

    for it in 0 .. max_iters:
        every eval_interval steps: estimate train/val loss on eval_iters random batches (no graph)
        lr = warmup (linear) then cosine decay from lr to min_lr
        x, y = batch_size random windows of block_size characters; y is x shifted by one
        loss = cross_entropy(model(x), y);  loss.backward();  clip the gradient norm;  AdamW step

The defaults are nanoGPT's "I only have a MacBook" configuration for ``shakespeare_char``
(n_layer 4, n_head 4, n_embd 128, block 64, batch 12, 2000 iterations, lr 1e-3 → 1e-4 with 100 warm-up
steps, AdamW β2 = 0.99, weight decay 0.1, gradient clipping 1.0, no dropout, no biases), for which nanoGPT
reports a validation loss of about 1.88.

**Resuming is exact**: the windows of iteration ``it`` come from a generator seeded with ``(seed, it)``,
and the checkpoint (model, optimizer, progress, history) is written atomically at every evaluation.

**Extending a run** (resumed with a larger ``max_iters``): the learning rate of every iteration is
computed from the config (``learning_rate_at``), so the schedule is re-planned by itself: the cosine
then ends at the new ``max_iters`` (or stays pinned at ``lr_decay_iters`` when that is given, which
makes 20 + 20 iterations exactly the same run as 40 straight).  Whether a folder may be resumed or
extended is decided by ``run_folder.start_or_resume``, once for every command.
"""
import dataclasses
import math
import os
import time

import numpy as np

from .plots import plot_losses
from .restore import load_weights
from .run_folder import CHECKPOINT, HISTORY_FILE, RunFolderError, read_checkpoint, write_json_atomic


@dataclasses.dataclass
class GPTTrainConfig:
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = False
    batch_size: int = 12
    max_iters: int = 2000
    learning_rate: float = 1e-3
    min_lr: float = 1e-4
    warmup_iters: int = 100
    lr_decay_iters: int = None      # default: max_iters
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20            # nanoGPT's CPU command uses 20 batches per estimate
    final_eval_iters: int = 200     # a steadier estimate for the reported final number
    seed: int = 1337
    sample_tokens: int = 500
    data: str = None


def learning_rate_at(it, config):
    """nanoGPT's schedule: linear warm-up to ``learning_rate``, cosine decay to ``min_lr`` at
    ``lr_decay_iters``, constant ``min_lr`` after."""
    decay_iters = config.lr_decay_iters or config.max_iters
    if it < config.warmup_iters:
        return config.learning_rate * (it + 1) / (config.warmup_iters + 1)
    if it > decay_iters:
        return config.min_lr
    ratio = (it - config.warmup_iters) / max(decay_iters - config.warmup_iters, 1)
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return config.min_lr + coeff * (config.learning_rate - config.min_lr)


def random_windows(data, block_size, batch_size, rng):
    """``batch_size`` random windows: x = data[i:i+T], y = data[i+1:i+T+1] (the next character)."""
    if len(data) <= block_size:
        raise ValueError(f"random_windows: the text has {len(data)} tokens, fewer than block_size + 1 = "
                         f"{block_size + 1}")
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    x = np.stack([data[s:s + block_size] for s in starts]).astype(np.int64)
    y = np.stack([data[s + 1:s + block_size + 1] for s in starts]).astype(np.int64)
    return x, y


def estimate_loss(model, splits, config, n_batches, seed):
    """Mean loss over ``n_batches`` random windows of each split, in eval mode and without a graph."""
    from .. import from_numpy, no_grad
    was_training = model.training
    model.eval()
    result = {}
    with no_grad():
        for name, data in splits.items():
            rng = np.random.default_rng([seed, 7919, len(result)])
            losses = []
            for _ in range(n_batches):
                x, y = random_windows(data, config.block_size, config.batch_size, rng)
                _, loss = model(from_numpy(x), from_numpy(y))
                losses.append(loss.item())
            result[name] = float(np.mean(losses))
    model.train(was_training)
    return result


def split_loss(model, data, block_size, batch_size=64):
    """The loss on *every* character of ``data`` (no sampling): cut it into consecutive, non-overlapping
    windows of ``block_size`` characters (the tail that does not fill a window is dropped) and average
    the cross-entropy over all predicted characters, in eval mode and without a graph.

    ``estimate_loss`` samples random windows, as nanoGPT does; this is the exact number it estimates
    (both average over positions 1..block_size of a window, i.e. over the same context lengths)."""
    from .. import from_numpy, no_grad
    from ..nn import functional as F
    n_windows = (len(data) - 1) // block_size
    if n_windows < 1:
        raise ValueError(f"split_loss: the text has {len(data)} tokens, fewer than block_size + 1 = "
                         f"{block_size + 1}")
    x_all = np.asarray(data[:n_windows * block_size], np.int64).reshape(n_windows, block_size)
    y_all = np.asarray(data[1:n_windows * block_size + 1], np.int64).reshape(n_windows, block_size)
    was_training = model.training
    model.eval()
    total = 0.0
    with no_grad():
        for start in range(0, n_windows, batch_size):
            x, y = x_all[start:start + batch_size], y_all[start:start + batch_size]
            logits, _ = model(from_numpy(x))
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), from_numpy(y.reshape(-1)),
                                     reduction="sum").item()
    model.train(was_training)
    return total / (n_windows * block_size)


def train_gpt(text_train, text_val, config, out_dir, resume=False, log=print, progress_bar=True,
              distributed=False):
    """Train a char-level GPT on the two texts; returns ``(model, tokenizer, history)``.

    Writes into ``out_dir``: ``checkpoint.safetensors`` (model + optimizer + progress), ``history.json``,
    ``loss.png`` and ``samples.txt``.

    ``distributed=True`` with N ranks: ``config.batch_size`` is the batch per rank; every rank draws
    the same N x batch_size windows of iteration ``it`` and trains on its share ``rank::N`` in
    DistributedDataParallel; ``clip_grad_norm_`` clips the averaged gradient (the same on every rank);
    the schedule (iterations, learning rates) is the single-process one.  The logged training loss is
    the mean over the ranks; the loss estimates (evaluation) and the sample are computed by rank 0
    alone, on the plain model, and rank 0 alone writes the run folder (then a barrier).  The
    checkpoint holds the plain model's state_dict, so 1 process and N ranks read each other's."""
    from tqdm import tqdm
    from .. import from_numpy, manual_seed, save, tensor
    from ..models.gpt import GPT, GPTConfig
    from ..nn.utils import clip_grad_norm_
    from ..text import CharTokenizer
    from ..distributed import world
    from .loop import _progress, _saved_global_batch

    world_size, rank = (world.get_world_size(), world.get_rank()) if distributed else (1, 0)
    main = rank == 0

    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    tokenizer = CharTokenizer.from_text(text_train + text_val)
    splits = {"train": np.asarray(tokenizer.encode(text_train), np.int64),
              "val": np.asarray(tokenizer.encode(text_val), np.int64)}
    manual_seed(config.seed)
    model = GPT(GPTConfig(n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                          block_size=config.block_size, vocab_size=tokenizer.vocab_size,
                          dropout=config.dropout, bias=config.bias))
    optimizer = model.configure_optimizers(config.weight_decay, config.learning_rate,
                                           (config.beta1, config.beta2))
    history = {"train_iter": [], "train_loss": [], "eval_iter": [], "eval_train": [], "eval_val": [],
               "seconds": 0.0}
    start = 0
    if resume:
        ckpt = read_checkpoint(ckpt_path)
        load_weights(model, ckpt["model"], "the model", f"cannot resume from {ckpt_path}")
        optimizer.load_state_dict(ckpt["optimizer"])
        history, start = ckpt["history"], ckpt["progress"]["iter"]
        saved_global = _saved_global_batch(ckpt, config.batch_size * world_size)
        if saved_global != config.batch_size * world_size:   # another number of ranks: same global batch
            if saved_global % world_size:
                raise RunFolderError(f"cannot resume a run with global batch {saved_global} on "
                                     f"{world_size} ranks: the number of ranks must divide it")
            config = dataclasses.replace(config, batch_size=saved_global // world_size)
            log(f"resumed with the run's global batch {saved_global}: {world_size} rank(s) x batch "
                f"{config.batch_size}")
        log(f"resumed from {ckpt_path} at iteration {start}")

    net = model
    if world_size > 1:
        from ..distributed import DistributedDataParallel
        net = DistributedDataParallel(model)
        progress_bar = progress_bar and main

    def checkpoint(it):
        if not main:
            world.barrier()
            return
        save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
              "config": dataclasses.asdict(config), "vocab": tokenizer.chars_string(),
              "progress": _progress({"iter": it}, config.batch_size * world_size, world_size),
              "history": history}, ckpt_path)
        write_json_atomic(os.path.join(out_dir, HISTORY_FILE), history)
        plot_losses(history, os.path.join(out_dir, "loss.png"),
                    title=f"mini-GPT ({config.n_layer}x{config.n_embd}) on tinyshakespeare")
        if world_size > 1:
            world.barrier()          # the checkpoint is complete before any rank goes on

    model.train()
    bar = tqdm(range(start, config.max_iters + 1), initial=start, total=config.max_iters + 1, unit="it",
               disable=not progress_bar, dynamic_ncols=True)
    began = time.perf_counter()
    for it in bar:
        already_evaluated = resume and it == start      # the checkpoint was written just after it
        if (it % config.eval_interval == 0 or it == config.max_iters) and not already_evaluated:
            n = config.final_eval_iters if it == config.max_iters else config.eval_iters
            if main:
                losses = estimate_loss(model, splits, config, n, seed=config.seed + it)
                history["eval_iter"].append(it)
                history["eval_train"].append(losses["train"])
                history["eval_val"].append(losses["val"])
                history["seconds"] += time.perf_counter() - began
                began = time.perf_counter()
                log(f"iter {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f} "
                    f"({n} batches, {history['seconds']:.0f} s so far)")
            checkpoint(it)
        if it == config.max_iters:
            break
        lr = learning_rate_at(it, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([config.seed, it])
        manual_seed(config.seed * 100_003 + it + 7_919 * rank)          # dropout masks, if any
        x, y = random_windows(splits["train"], config.block_size, config.batch_size * world_size, rng)
        x, y = x[rank::world_size], y[rank::world_size]          # this rank's share of the global batch
        _, loss = net(from_numpy(x), from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        if config.grad_clip:
            clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        history["train_iter"].append(it)
        loss_value = loss.item()
        if world_size > 1:
            from ..distributed import average_metrics
            loss_value = average_metrics({"loss": loss_value})["loss"]
        history["train_loss"].append(loss_value)
        bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}", lr=f"{lr:.2e}", refresh=False)
    bar.close()
    history["seconds"] += time.perf_counter() - began
    checkpoint(config.max_iters)

    if not main:
        return model, tokenizer, history
    model.eval()
    prompt = tensor(np.asarray([tokenizer.encode("\n")], np.int64))
    sample = model.generate(prompt, config.sample_tokens, temperature=0.8, top_k=200, generator=config.seed)
    text = tokenizer.decode(sample.array[0].tolist())
    with open(os.path.join(out_dir, "samples.txt"), "w") as f:
        f.write(text)
    log("sample:\n" + text)
    return model, tokenizer, history
