"""nanoGPT's own CPU run, rewritten here in plain PyTorch, with nanoGPT's random streams.

``gpt_shakespeare_torch.py`` (beside this file) gives PyTorch *our* initial weights and *our* batches, so
it tests the engine, not the recipe.  This script tests the recipe: it follows nanoGPT's ``model.py`` and
``train.py`` step for step (the model is ``benchmarks.torch_twins.GPT``, nanoGPT's ``model.py``; the
schedule and the loop are written out again here rather than taken from ``gpt_trainer``):

* ``torch.manual_seed(seed)``, then the model is built and initialised in nanoGPT's order (so the
  same seed gives nanoGPT's initial weights);
* batches by ``torch.randint(len(data) - block_size, (batch_size,))``, the first one drawn before the
  loop and the next one prefetched after each forward pass, the evaluation batches drawn from the same
  generator in between (nanoGPT's order of draws);
* ``nn.GELU()`` (exact, erf) in the MLP — nanoGPT's choice; ``--gelu tanh`` gives GPT-2's
  approximation, which ``models.gpt`` uses for parity with Hugging Face's ``GPT2LMHeadModel``;
* AdamW (β2 0.99, weight decay 0.1 on ≥2-D parameters), gradient clipping 1.0, warm-up 100 then cosine
  1e-3 → 1e-4 over 2000 iterations, evaluation every 250 iterations on 20 batches per split.

It prints nanoGPT's log lines and, at the end, the exact loss over every validation character (the
number the 20-batch estimate scatters around).  Seed 1337 is nanoGPT's hard-coded seed, so that run is
the README command's run.

``--engine tinygrad_edu`` keeps every random number (nanoGPT's initial weights, every batch) but lets our
``models.gpt.GPT``, AdamW and ``clip_grad_norm_`` compute: the engine replaying nanoGPT's run.

    python -m benchmarks.experiments.gpt_nanogpt_native --seeds 1337 1 2 --out runs/gpt_nanogpt_native
    python -m benchmarks.experiments.gpt_nanogpt_native --engine tinygrad_edu --seeds 1337 \
        --out runs/gpt_nanogpt_native
    python -m benchmarks.experiments.gpt_nanogpt_native --report runs/gpt_nanogpt_native
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import numpy as np

NANOGPT_FIGURE = 1.88


def build_nanogpt(vocab_size, n_layer=4, n_head=4, n_embd=128, block_size=64, gelu="exact", bias=False):
    """nanoGPT's ``GPT`` (dropout 0; ``bias``: its flag for Linear and LayerNorm biases, False in its
    ``train.py``) as a torch module, initialised as nanoGPT does.

    The module is ``torch_twins.GPT`` (nanoGPT's ``model.py``, same parameter names): it creates
    its layers in nanoGPT's order, so the default initialisers draw from the global torch generator as
    nanoGPT's do.  Then nanoGPT's ``_init_weights``: every Linear and Embedding weight ~ N(0, 0.02²) (Linear
    biases 0) in ``apply`` order (``lm_head`` last, overwriting the tied token embedding), and the residual
    projections ``c_proj`` ~ N(0, (0.02/√(2·n_layer))²)."""
    from torch import nn
    from tinygrad_edu.models.gpt import GPTConfig
    from ..torch_twins import GPT as GPT_twin
    model = GPT_twin(GPTConfig(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size,
                               vocab_size=vocab_size, bias=bias))
    if gelu == "exact":                  # nanoGPT's nn.GELU(); the twin has GPT-2's tanh approximation
        for block in model.transformer.h:
            block.mlp.gelu = nn.GELU()

    def init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    model.apply(init_weights)
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):
            nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
    return model


def nanogpt_lr(it, learning_rate=1e-3, min_lr=1e-4, warmup_iters=100, lr_decay_iters=2000):
    """nanoGPT's ``get_lr``, written out again (not ``gpt_trainer.learning_rate_at``) so the recipe under
    test takes nothing from ours: linear warm-up, cosine to ``min_lr`` at ``lr_decay_iters``, then flat."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


class TorchEngine:
    """nanoGPT's model and optimiser in PyTorch."""

    def __init__(self, model):
        import torch
        self.torch, self.model = torch, model
        self.optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))   # decay on >=2-D weights

    def eval_losses(self, batches):
        """Per-window-batch mean losses, in eval mode, without a graph."""
        self.model.eval()
        with self.torch.no_grad():
            losses = [self.model(self.torch.from_numpy(x), self.torch.from_numpy(y))[1].item()
                      for x, y in batches]
        self.model.train()
        return losses

    def full_val_loss(self, val, block_size, batch_size=64):
        """The exact loss over every validation character, as ``gpt_trainer.split_loss`` computes it for
        our models: consecutive non-overlapping windows, the cross-entropy summed over all of them."""
        torch = self.torch
        n_windows = (len(val) - 1) // block_size
        tokens = val.astype(np.int64)
        x = torch.from_numpy(tokens[:n_windows * block_size].reshape(n_windows, block_size))
        y = torch.from_numpy(tokens[1:n_windows * block_size + 1].reshape(n_windows, block_size))
        total = 0.0
        self.model.eval()
        with torch.no_grad():
            for start in range(0, n_windows, batch_size):
                logits, _ = self.model(x[start:start + batch_size], y[start:start + batch_size])
                total += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)),
                                                           y[start:start + batch_size].reshape(-1),
                                                           reduction="sum").item()
        self.model.train()
        return total / (n_windows * block_size)

    def train_step(self, x, y, lr):
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        _, loss = self.model(self.torch.from_numpy(x), self.torch.from_numpy(y))
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


class OurEngine:
    """tinygrad_edu's ``models.gpt.GPT`` starting from nanoGPT's initial weights (copied by name), with
    its own AdamW (``configure_optimizers``) and ``clip_grad_norm_``; the MLP's GELU set to ``gelu``."""

    def __init__(self, torch_model, vocab_size, block_size, gelu, bias):
        from tinygrad_edu import nn
        from tinygrad_edu.models.gpt import GPT, GPTConfig
        self.model = GPT(GPTConfig(vocab_size=vocab_size, block_size=block_size, bias=bias))
        for block in self.model.transformer.h:
            block.mlp.gelu = nn.GELU(approximate="none" if gelu == "exact" else "tanh")
        weights = {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}
        self.model.load_state_dict(weights)
        self.optimizer = self.model.configure_optimizers(0.1, 1e-3, (0.9, 0.99))

    def eval_losses(self, batches):
        from tinygrad_edu import from_numpy, no_grad
        self.model.eval()
        with no_grad():
            losses = [self.model(from_numpy(x), from_numpy(y))[1].item() for x, y in batches]
        self.model.train()
        return losses

    def full_val_loss(self, val, block_size):
        from tinygrad_edu.training.gpt_trainer import split_loss
        return split_loss(self.model, val, block_size)

    def train_step(self, x, y, lr):
        from tinygrad_edu import from_numpy
        from tinygrad_edu.nn.utils import clip_grad_norm_
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        _, loss = self.model(from_numpy(x), from_numpy(y))
        self.optimizer.zero_grad()
        loss.backward()
        clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()


def run(seed, text, gelu="exact", engine="torch", bias=False, max_iters=2000, batch_size=12, block_size=64,
        eval_interval=250, eval_iters=20, exact_val=True, log=print):
    """One nanoGPT run; returns its row: the last 20-batch estimates (nanoGPT's log line), the exact
    full-validation loss (``exact_val``), the wall time and every estimate (``history``).

    Every random number comes from torch's global generator in nanoGPT's order, whichever ``engine``
    computes: the initial weights, then the first training batch, then per iteration the evaluation
    batches (every ``eval_interval``) and the prefetched next batch."""
    import torch
    from tinygrad_edu.backend import set_num_threads
    torch.set_num_threads(1)                # one thread each, as nanoGPT's CPU run is compared
    set_num_threads(1)
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.uint16)
    n = len(ids)
    data = {"train": ids[:int(n * 0.9)], "val": ids[int(n * 0.9):]}

    def get_batch(split):
        d = data[split]
        ix = torch.randint(len(d) - block_size, (batch_size,)).numpy()
        x = np.stack([d[i:i + block_size] for i in ix]).astype(np.int64)
        y = np.stack([d[i + 1:i + 1 + block_size] for i in ix]).astype(np.int64)
        return x, y

    torch.manual_seed(seed)
    torch_model = build_nanogpt(len(chars), block_size=block_size, gelu=gelu, bias=bias)
    runner = (TorchEngine(torch_model) if engine == "torch"
              else OurEngine(torch_model, len(chars), block_size, gelu, bias))

    began = time.perf_counter()
    X, Y = get_batch("train")
    it, last, full, history = 0, None, None, []
    while True:
        if it % eval_interval == 0:
            last = {split: float(np.mean(runner.eval_losses([get_batch(split) for _ in range(eval_iters)])))
                    for split in ("train", "val")}
            history.append([it, last["train"], last["val"]])
            log(f"{engine} seed {seed} step {it}: train loss {last['train']:.4f}, val loss {last['val']:.4f}")
            if it == max_iters and exact_val:   # the model of nanoGPT's last log line (draws no RNG)
                full = runner.full_val_loss(data["val"], block_size)
        x, y = X, Y
        X, Y = get_batch("train")           # nanoGPT prefetches the next batch before backward
        runner.train_step(x, y, nanogpt_lr(it, lr_decay_iters=max_iters))
        it += 1
        if it > max_iters:
            break
    seconds = time.perf_counter() - began
    # (nanoGPT's loop makes one more update after its last evaluation and then stops; like its log,
    # the row describes the model at that evaluation.)
    return {"seed": seed, "gelu": gelu, "bias": bias, "engine": engine, "nanogpt_20": last["val"],
            "train_20": last["train"], "full_val": full, "seconds": seconds, "history": history}


def variant(row):
    """The model variant of a row, as the report names it: its GELU, and whether it has biases."""
    return f"{row['gelu']} GELU" + (", biases" if row.get("bias") else "")


def report(out_dir):
    rows = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out_dir, "*.json")))]
    lines = ["| engine | model | seed | nanoGPT 20-batch val | full val | wall s |",
             "|---|---|---|---|---|---|"]
    groups = sorted({(r["engine"], variant(r)) for r in rows})
    for engine, name in groups:
        group = [r for r in rows if (r["engine"], variant(r)) == (engine, name)]
        for r in sorted(group, key=lambda r: r["seed"]):
            lines.append(f"| {engine} | {name} | {r['seed']} | {r['nanogpt_20']:.4f} | {r['full_val']:.4f} | "
                         f"{r['seconds']:.0f} |")
    lines.append("")
    for engine, name in groups:
        group = [r for r in rows if (r["engine"], variant(r)) == (engine, name)]
        for key in ("nanogpt_20", "full_val"):
            values = [r[key] for r in group]
            sd = statistics.stdev(values) if len(values) > 1 else float("nan")
            below = sum(v <= NANOGPT_FIGURE for v in values)
            lines.append(f"- {engine}, {name}, {key}: {statistics.mean(values):.4f} ± {sd:.4f} over "
                         f"{len(values)} runs; {below} at or below {NANOGPT_FIGURE}")
    lines += engine_agreement(rows)
    print("\n".join(lines))


def engine_agreement(rows):
    """For every (model variant, seed) run by both engines: the largest difference between their estimates
    over all evaluations, the difference of the exact losses, and the wall-time ratio (ours / torch)."""
    lines = []
    by_key = {(r["engine"], variant(r), r["seed"]): r for r in rows}
    for (engine, name, seed), ours in sorted(by_key.items()):
        theirs = by_key.get(("torch", name, seed))
        if engine != "tinygrad_edu" or theirs is None or "history" not in ours or "history" not in theirs:
            continue
        a, b = np.array(ours["history"])[:, 1:], np.array(theirs["history"])[:, 1:]
        largest = float(np.abs(a - b).max()) if a.shape == b.shape else float("nan")
        lines.append(f"- seed {seed} ({name}): tinygrad_edu vs torch on nanoGPT's random numbers: "
                     f"largest difference over {len(a)} evaluations {largest:.1e}, exact loss difference "
                     f"{abs(ours['full_val'] - theirs['full_val']):.1e}, time ratio "
                     f"{ours['seconds'] / theirs['seconds']:.2f}")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1337])
    parser.add_argument("--gelu", choices=("exact", "tanh"), default="exact")
    parser.add_argument("--bias", action="store_true",
                        help="biases in every Linear and LayerNorm (nanoGPT's bias flag; its train.py: off)")
    parser.add_argument("--engine", choices=("torch", "tinygrad_edu"), default="torch",
                        help="who computes; the random streams are nanoGPT's either way")
    parser.add_argument("--out", default="runs/gpt_nanogpt_native")
    parser.add_argument("--data", default=None, help="folder holding tinyshakespeare/input.txt")
    parser.add_argument("--report", metavar="DIR")
    args = parser.parse_args(argv)
    if args.report:
        report(args.report)
        return
    from tinygrad_edu.data.text_datasets import TINYSHAKESPEARE, find_files, read_text
    (path,) = find_files(TINYSHAKESPEARE, ["input.txt"], args.data, True, None)
    text = read_text(path, TINYSHAKESPEARE, True)
    os.makedirs(args.out, exist_ok=True)
    for seed in args.seeds:
        row = run(seed, text, gelu=args.gelu, engine=args.engine, bias=args.bias,
                  log=lambda m: print(m, flush=True))
        name = f"{args.engine}_{args.gelu}{'_bias' if args.bias else ''}_seed_{seed}.json"
        with open(os.path.join(args.out, name), "w") as f:
            json.dump(row, f, indent=1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
