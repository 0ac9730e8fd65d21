"""The mini-GPT benchmark rows: tinygrad_edu against PyTorch (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_gpt
    python -m benchmarks.bench_gpt --rows train --threads 1,2 --json out.json
    python -m benchmarks.bench_gpt --rows train --profile       # where does the time go?

The model is nanoGPT's Shakespeare-char CPU configuration (``GPTConfig()``: 4 layers, 4 heads,
128 wide, block 64, 65 tokens, no dropout), built in ``tinygrad_edu.models.gpt`` after
``manual_seed(0)`` and copied through ``state_dict`` into ``torch_gpt``, the same network
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


# ---------------------------------------------------------------------------------------------
# nanoGPT in torch.nn, with tinygrad_edu.models.gpt's names
# ---------------------------------------------------------------------------------------------
def torch_gpt(config):
    """``models.gpt.GPT`` written in torch.nn (nanoGPT's model.py, plus the KV cache): the same
    parameter names, so our ``state_dict`` loads into it one to one."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
            self.resid_dropout = nn.Dropout(config.dropout)

        def forward(self, x, cache=None, layer=0):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(config.n_embd, dim=2)
            q, k, v = (t.view(B, T, config.n_head, C // config.n_head).transpose(1, 2) for t in (q, k, v))
            if cache is not None:
                if cache[layer] is not None:
                    k = torch.cat([cache[layer][0], k], dim=2)
                    v = torch.cat([cache[layer][1], v], dim=2)
                cache[layer] = (k, v)
            causal = k.size(2) == T          # no past (T == 1 with a past: see everything)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
            return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
            self.gelu = nn.GELU(approximate="tanh")
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
            self.dropout = nn.Dropout(config.dropout)

        def forward(self, x):
            return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
            self.mlp = MLP()

        def forward(self, x, cache=None, layer=0):
            x = x + self.attn(self.ln_1(x), cache, layer)
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.config = config
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block() for _ in range(config.n_layer)]),
                ln_f=nn.LayerNorm(config.n_embd, bias=config.bias)))
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def hidden_states(self, idx, cache=None, past=0):
            pos = torch.arange(past, past + idx.size(1), dtype=torch.long)
            x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
            for i, block in enumerate(self.transformer.h):
                x = block(x, cache, i)
            return self.transformer.ln_f(x)

        def forward(self, idx, targets=None):
            logits = self.lm_head(self.hidden_states(idx))
            loss = None if targets is None else \
                F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas):
            params = [p for p in self.parameters() if p.requires_grad]
            groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                      {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
            return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)

        @torch.no_grad()
        def generate_greedy(self, idx, max_new_tokens, use_cache=True):
            """Greedy decoding with ``models.gpt.GPT.generate``'s cache policy."""
            bs = config.block_size
            cache = None
            for _ in range(max_new_tokens):
                total = idx.size(1)
                if cache is not None and total <= bs:
                    x = self.hidden_states(idx[:, -1:], cache, past=total - 1)
                else:
                    cache = [None] * config.n_layer if use_cache and total <= bs else None
                    x = self.hidden_states(idx[:, -bs:], cache)
                logits = self.lm_head(x[:, -1, :])
                idx = torch.cat([idx, logits.argmax(-1, keepdim=True)], dim=1)
            return idx

    return TorchGPT()


def _models(config):
    """The same weights in both libraries: ours drawn after ``manual_seed(SEED)``, copied into torch."""
    import torch
    import tinygrad_edu as tg
    from tinygrad_edu.models.gpt import GPT
    tg.manual_seed(SEED)
    ours = GPT(config)
    theirs = torch_gpt(config)
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
               "(fwd+bwd+AdamW)", {"torch": build_torch, "tinygrad_edu": build_tinygrad}, target=1.5,
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
                         {"torch": build_torch, "tinygrad_edu": build_tinygrad},
                         rtol=0.0, atol=0.0, tokens_per_step=new_tokens,
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
