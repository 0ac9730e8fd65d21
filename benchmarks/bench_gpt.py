"""The mini-GPT benchmark rows: tinygrad_edu against PyTorch (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_gpt
    python -m benchmarks.bench_gpt --rows train --threads 1,2 --json out.json
    python -m benchmarks.bench_gpt --rows train --profile       # where does the time go?

The model is nanoGPT's Shakespeare-char CPU configuration (``GPTConfig()``: 4 layers, 4 heads,
128 wide, block 64, 65 tokens, no dropout), built in ``tinygrad_edu.models.gpt`` after
``manual_seed(0)`` and copied through ``state_dict`` into ``torch_twins.GPT``, the same network
written in ``torch.nn`` (nanoGPT's code with the same names, ``F.scaled_dot_product_attention``
and the same KV cache).  Rows (ratio = tinygrad_edu / torch time):

* ``train``: one training step at batch 12 × 64 tokens: zero_grad, forward, cross entropy,
  backward, AdamW (lr 1e-3, betas (0.9, 0.99), weight decay 0.1 on ≥2-D weights only, through
  ``model.configure_optimizers``) — target ≤ 1.5×.  Before timing, the loss, logits and every
  gradient are compared.
* ``generate_cache`` / ``generate_nocache``: greedy generation (``top_k=1``, deterministic, so the
  two libraries must produce the same tokens, which is checked) of 63 tokens after a 1-token
  prompt at batch 1: the whole block of 64, with and without the KV cache.  Reported in ms per
  generated token; tokens/s = 1000 / that.
"""
import sys
from dataclasses import dataclass

import numpy as np

from . import harness
from .floors import decode_floor_builder, floor_builder
from .harness import Row, Workload, benchmark_parser

SEED = 0
BATCH = 12
TRAIN_OPTIONS = dict(weight_decay=0.1, learning_rate=1e-3, betas=(0.9, 0.99))


@dataclass
class GenerationRow(Row):
    """A row whose step generates ``tokens_per_step`` tokens; reported in ms per token."""
    tokens_per_step: int = 1

    @property
    def unit(self):
        return "ms/token"

    def scale(self, seconds):
        return seconds / self.tokens_per_step * 1e3


def _models(config):
    """The same weights in both libraries: ours drawn after ``manual_seed(SEED)``, copied into torch."""
    import torch
    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT
    from .torch_twins import GPT as GPT_twin
    tg.manual_seed(SEED)
    ours = GPT(config)
    theirs = GPT_twin(config)
    theirs.load_state_dict({k: torch.tensor(np.array(v.detach().numpy()))
                            for k, v in ours.state_dict().items()})
    return ours, theirs


def _train_outputs(loss, logits, named_parameters):
    """Loss, logits and every parameter's gradient.  The weights after the AdamW step are left out:
    Adam's first step is lr · g / (|g| + eps), so for the few coordinates whose gradient is ~eps
    (1e-8) float32 rounding of g moves the update by a sizeable part of lr; AdamW itself is
    compared with torch's in tests/test_optim.py."""
    out = {"loss": np.asarray(loss), "logits": logits}
    for name, p in named_parameters:
        out[name + ".grad"] = np.array(p.grad.detach().numpy())
    return out


# ---------------------------------------------------------------------------------------------
# train: one AdamW step of the nanoGPT CPU config
# ---------------------------------------------------------------------------------------------
def train_row(batch=BATCH, config=None):
    from tinygrad_edu.models.gpt import GPTConfig
    config = config or GPTConfig()
    rng = np.random.default_rng(SEED)
    x0 = rng.integers(0, config.vocab_size, (batch, config.block_size)).astype(np.int64)
    y0 = rng.integers(0, config.vocab_size, (batch, config.block_size)).astype(np.int64)

    def build_tinygrad():
        import tinygrad_edu as tg
        model, _ = _models(config)
        model.train()
        opt = model.configure_optimizers(**TRAIN_OPTIONS)
        x, y = tg.tensor(x0), tg.tensor(y0)
        state = {}

        def step():
            opt.zero_grad(set_to_none=True)
            logits, loss = model(x, y)
            loss.backward()
            opt.step()
            state["loss"], state["logits"] = loss, logits

        return Workload(step, lambda: _train_outputs(state["loss"].item(), state["logits"].detach().numpy(),
                                                     model.named_parameters()))

    def build_torch():
        import torch
        _, model = _models(config)
        model.train()
        opt = model.configure_optimizers(**TRAIN_OPTIONS)
        x, y = torch.from_numpy(x0), torch.from_numpy(y0)
        state = {}

        def step():
            opt.zero_grad(set_to_none=True)
            logits, loss = model(x, y)
            loss.backward()
            opt.step()
            state["loss"], state["logits"] = loss, logits

        return Workload(step, lambda: _train_outputs(state["loss"].item(), state["logits"].detach().numpy(),
                                                     model.named_parameters()))

    c = config
    return Row(f"GPT {c.n_layer}L {c.n_head}H {c.n_embd}d, {batch}x{c.block_size} tokens, train step "
               "(fwd+bwd+AdamW)", {"torch": build_torch, "tinygrad_edu": build_tinygrad,
                                    "floor": floor_builder(build_tinygrad)}, target=0.7,
               rtol=2e-3, atol=2e-5,
               note="models.gpt.GPT(GPTConfig()) + configure_optimizers(0.1, 1e-3, (0.9, 0.99)); "
                    "torch: the same network in torch.nn (nanoGPT) with the weights copied")


# ---------------------------------------------------------------------------------------------
# generate: greedy tokens/s with and without the KV cache
# ---------------------------------------------------------------------------------------------
def generate_row(use_cache, new_tokens=None, config=None, prompt_len=1):
    from tinygrad_edu.models.gpt import GPTConfig
    config = config or GPTConfig()
    new_tokens = config.block_size - prompt_len if new_tokens is None else new_tokens
    prompt = np.random.default_rng(SEED).integers(0, config.vocab_size, (1, prompt_len)).astype(np.int64)

    def build_tinygrad():
        model, _ = _models(config)
        model.eval()
        out = {}

        def step():
            out["tokens"] = model.generate(prompt, new_tokens, top_k=1, use_cache=use_cache, generator=0)

        return Workload(step, lambda: {"tokens": out["tokens"].numpy().astype(np.float64)})

    def build_torch():
        import torch
        _, model = _models(config)
        model.eval()
        out = {}
        idx = torch.from_numpy(prompt)

        def step():
            out["tokens"] = model.generate_greedy(idx, new_tokens, use_cache=use_cache)

        return Workload(step, lambda: {"tokens": out["tokens"].numpy().astype(np.float64)})

    mode = "with KV cache" if use_cache else "without cache"
    return GenerationRow(f"GPT generate {new_tokens} tokens (greedy, batch 1) {mode}",
                         {"torch": build_torch, "tinygrad_edu": build_tinygrad,
                          "floor": decode_floor_builder(config, prompt_len, new_tokens)},
                         rtol=0.0, atol=0.0, tokens_per_step=new_tokens,
                         target=1.0 if use_cache else None,
                         note="model.generate(prompt, n, top_k=1, use_cache=...); torch: the same "
                              "loop and cache policy in torch.nn; the generated tokens must be equal")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
ROWS = {"train": train_row,
        "generate_cache": lambda: generate_row(True),
        "generate_nocache": lambda: generate_row(False)}


def build_rows(names):
    rows = []
    for name in names:
        if name not in ROWS:
            raise SystemExit(f"bench_gpt: unknown row {name!r}; choose from {', '.join(ROWS)}")
        rows.append(ROWS[name]())
    return rows


def tokens_per_second(report):
    """Lines 'row: torch N tok/s, tinygrad_edu M tok/s' for the generation rows."""
    lines = []
    for res in report["results"]:
        if isinstance(res.row, GenerationRow):
            rates = {lib: res.row.tokens_per_step / t.median_s for lib, t in res.timings.items()}
            lines.append(f"  {res.row.name}: " + ", ".join(f"{lib} {rate:.0f} tok/s"
                                                           for lib, rate in rates.items()))
    return lines


def parse_args(argv=None):
    p = benchmark_parser("python -m benchmarks.bench_gpt", __doc__, ROWS, repeat=11, warmup=2,
                         min_round_ms=200.0, profile_calls=10)
    return p.parse_args(argv)


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    args = parse_args(argv)
    warning = harness.slow_blas_warning()
    if warning:
        print(warning, file=sys.stderr)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    rows = build_rows(names)
    if args.profile:
        harness.profile_rows(rows, args.threads[0], args.profile_calls, reexec=reexec)
        return 0
    report = harness.run_rows(rows, args.threads, args.warmup, args.repeat, args.min_round_ms / 1e3,
                              log=lambda s: print(s, file=sys.stderr), reexec=reexec)
    notes = tokens_per_second(report) + [f"  {row.name}: {row.note}" for row in rows]
    harness.print_and_save(report, notes, args.json, args.markdown,
                           title="mini-GPT benchmark: tinygrad_edu vs PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
