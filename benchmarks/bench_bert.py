"""The BERT fine-tune benchmark row: tinygrad_edu against PyTorch + Hugging Face (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_bert
    python -m benchmarks.bench_bert --repeat 11 --json out.json
    python -m benchmarks.bench_bert --profile            # where does the time go?

Row (the ratio is tinygrad_edu / torch; the issue's target is ≤ 1.5):

* ``finetune``: one sequence-classification fine-tuning step of a MiniLM-sized BERT — 6 layers,
  hidden 384, 12 heads, FFN 1536, vocabulary 30,522 (all-MiniLM-L6-v2's shape, 22.7 M parameters)
  with a 2-class head — at batch 16 × 64 tokens, a quarter of the rows padded (attention mask):
  ``zero_grad``, forward, cross entropy, backward, ``AdamW(lr=2e-5, weight_decay=0.01)``.
  tinygrad_edu runs ``models.BertForSequenceClassification``; torch runs Hugging Face's
  ``transformers.BertForSequenceClassification`` (its default SDPA attention) with the same weights
  (copied through ``state_dict``: the names are the same).  Dropout is 0 in both (a random mask
  cannot be the same in two libraries, and the outputs are compared before timing).

The step is dominated by the 36 linear layers' GEMMs (forward + two backward products each), the
attention batched matmuls, and — because all 22.7 M parameters are updated — the AdamW update,
half of whose work is the 30,522 × 384 word-embedding table (a dense gradient in both libraries).
"""
import sys

import numpy as np

from . import harness
from .floors import floor_builder
from .harness import Row, Workload, benchmark_parser

SEED = 0
MINILM = dict(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
              intermediate_size=1536, max_position_embeddings=512, type_vocab_size=2,
              hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def make_batch(batch, length, vocab_size, seed=SEED):
    """Token ids in [1000, vocab) (the ordinary words of BERT's vocabulary; [1, vocab) for a tiny
    one) with [CLS] = 101 first; every fourth row padded after half its length (id 0, mask 0);
    labels 0/1."""
    rng = np.random.default_rng(seed)
    low = 1000 if vocab_size > 2000 else 1
    ids = rng.integers(low, vocab_size, (batch, length)).astype(np.int64)
    ids[:, 0] = min(101, vocab_size - 1)
    mask = np.ones((batch, length), np.int64)
    mask[::4, length // 2:] = 0
    ids[mask == 0] = 0
    labels = rng.integers(0, 2, batch).astype(np.int64)
    return ids, mask, labels


def _outputs(loss, logits, named_parameters):
    """What a step computed: the loss, the logits, and every parameter's gradient and new value."""
    out = {"loss": np.asarray(loss), "logits": logits}
    for name, p in named_parameters:
        out[name + ".grad"] = np.array(p.grad.detach().numpy())
        out[name] = np.array(p.detach().numpy())
    return out


def finetune_row(batch=16, length=64, config=None, num_labels=2, lr=2e-5, weight_decay=0.01,
                 rtol=2e-3, atol=2e-5):
    """The fine-tune step row; ``config`` (a dict of BertConfig fields) overrides the MiniLM shape
    (the smoke test uses a tiny one)."""
    config = dict(MINILM if config is None else config)
    ids, mask, labels = make_batch(batch, length, config["vocab_size"])

    def make_tinygrad_model():
        import tinygrad_edu as tg
        from tinygrad_edu.models.bert import BertConfig, BertForSequenceClassification
        tg.manual_seed(SEED)
        return BertForSequenceClassification(BertConfig(**config), num_labels=num_labels)

    def build_tinygrad():
        import tinygrad_edu as tg
        from tinygrad_edu import optim
        model = make_tinygrad_model()
        model.train()
        opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        x, m, y = tg.tensor(ids), tg.tensor(mask), tg.tensor(labels)
        state = {}

        def step():
            opt.zero_grad()
            out = model(x, attention_mask=m, labels=y)
            out.loss.backward()
            opt.step()
            state["out"] = out

        return Workload(step, lambda: _outputs(state["out"].loss.item(),
                                               state["out"].logits.detach().numpy(),
                                               model.named_parameters()))

    def build_torch():
        import torch
        import transformers
        hf_config = transformers.BertConfig(**config, num_labels=num_labels)
        model = transformers.BertForSequenceClassification(hf_config)
        weights = {k: torch.tensor(np.array(v.numpy()))
                   for k, v in make_tinygrad_model().state_dict().items()}
        missing, unexpected = model.load_state_dict(weights, strict=False)
        if missing or unexpected:
            raise RuntimeError(f"bench_bert: parameter names differ: missing in tinygrad_edu {missing}, "
                               f"unknown to transformers {unexpected}")
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        x, m, y = torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(labels)
        state = {}

        def step():
            opt.zero_grad()
            out = model(input_ids=x, attention_mask=m, labels=y)
            out.loss.backward()
            opt.step()
            state["out"] = out

        return Workload(step, lambda: _outputs(state["out"].loss.item(),
                                               state["out"].logits.detach().numpy(),
                                               model.named_parameters()))

    shape = (f"{config['num_hidden_layers']} layers, hidden {config['hidden_size']}, "
             f"{config['num_attention_heads']} heads")
    return Row(f"BERT fine-tune step ({shape}), batch {batch} x {length} tokens, AdamW",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad,
                "floor": floor_builder(build_tinygrad)}, target=0.7,
               rtol=rtol, atol=atol,
               note=f"models.BertForSequenceClassification vs transformers.BertForSequenceClassification "
                    f"(same weights, dropout 0, a quarter of the rows padded), cross entropy, "
                    f"AdamW(lr={lr}, weight_decay={weight_decay})")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
ROWS = {"finetune": finetune_row}


def parse_args(argv=None):
    p = benchmark_parser("python -m benchmarks.bench_bert", __doc__, ROWS, repeat=11, warmup=2,
                         min_round_ms=300.0, profile_calls=5)
    p.add_argument("--batch", type=int, default=16, help="sentences per step (default 16)")
    p.add_argument("--length", type=int, default=64, help="tokens per sentence (default 64)")
    return p.parse_args(argv)


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    args = parse_args(argv)
    warning = harness.slow_blas_warning()
    if warning:
        print(warning, file=sys.stderr)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    for name in names:
        if name not in ROWS:
            raise SystemExit(f"bench_bert: unknown row {name!r}; choose from {', '.join(ROWS)}")
    rows = [ROWS[name](batch=args.batch, length=args.length) for name in names]
    if args.profile:
        harness.profile_rows(rows, args.threads[0], args.profile_calls, reexec=reexec)
        return 0
    report = harness.run_rows(rows, args.threads, args.warmup, args.repeat, args.min_round_ms / 1e3,
                              log=lambda s: print(s, file=sys.stderr), reexec=reexec)
    notes = [f"  {res.row.name}: {res.row.note}" for res in report["results"][:len(rows)]]
    harness.print_and_save(report, notes, args.json, args.markdown,
                           title="BERT fine-tune benchmark: tinygrad_edu vs PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
