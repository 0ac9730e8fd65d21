"""The engine's benchmark rows: tinygrad_edu against PyTorch (CPU), in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python -m benchmarks.bench_engine
    python -m benchmarks.bench_engine --rows mlp,chain --repeat 31 --threads 1,2 --json out.json
    python -m benchmarks.bench_engine --rows mlp --profile       # where does the time go?

Rows (the issue's targets for tinygrad_edu / torch in parentheses):

* ``matmul``: C = A @ B for 1024×1024 float32 matrices, then backward with a given dL/dC
  (3 matrix products: one forward, two backward).  Pure BLAS; the engine should add nothing
  (≤ 1.15×).  NumPy by hand is the floor (its OpenBLAS against torch's MKL).
* ``mlp``: one training step of a 784-256-256-10 ReLU MLP at batch 128: forward, cross entropy,
  backward, SGD update, zero_grad (≤ 1.5×).  Uses ``tinygrad_edu.nn`` / ``nn.functional`` /
  ``optim.SGD`` when they exist, else raw tensors with ``log_softmax`` + ``gather`` and a
  ``no_grad`` update; the torch side mirrors whichever is used.  The ``numpy`` column is the
  same step written by hand with no autograd: the floor for a NumPy engine.
* ``chain``: 200 small elementwise ops (×0.9, + c, tanh, sigmoid, repeated) on an 8×8 tensor,
  then ``sum().backward()``.  The arrays are tiny, so this measures framework overhead per op
  (forward + backward), in µs per op (≤ 3×).
"""
import sys

import numpy as np

from . import harness
from .floors import floor_builder
from .harness import Row, Workload, benchmark_parser

SEED = 0


# ---------------------------------------------------------------------------------------------
# matmul: forward + backward of one large product
# ---------------------------------------------------------------------------------------------
def matmul_row(n=1024):
    rng = np.random.default_rng(SEED)
    a0, b0, g0 = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(3))

    def build_tinygrad():
        import tinygrad_edu as tg
        a = tg.tensor(a0.copy(), requires_grad=True)
        b = tg.tensor(b0.copy(), requires_grad=True)
        g = tg.tensor(g0.copy())
        out = {}

        def step():
            a.grad = b.grad = None
            c = a @ b
            c.backward(g)
            out["c"] = c

        return Workload(step, lambda: {"c": out["c"].detach().numpy(), "a.grad": a.grad.numpy(),
                                       "b.grad": b.grad.numpy()})

    def build_torch():
        import torch
        a = torch.tensor(a0, requires_grad=True)
        b = torch.tensor(b0, requires_grad=True)
        g = torch.tensor(g0)
        out = {}

        def step():
            a.grad = b.grad = None
            c = a @ b
            c.backward(g)
            out["c"] = c

        return Workload(step, lambda: {"c": out["c"].detach().numpy(), "a.grad": a.grad.numpy(),
                                       "b.grad": b.grad.numpy()})

    def build_numpy():
        a, b, g = a0.copy(), b0.copy(), g0.copy()
        out = {}

        def step():  # what the engine must do, by hand: C = AB, dA = G Bᵀ, dB = Aᵀ G
            out["c"] = a @ b
            out["a.grad"] = g @ b.T
            out["b.grad"] = a.T @ g

        return Workload(step, lambda: dict(out))

    return Row(f"matmul {n}x{n} fwd+bwd", {"torch": build_torch, "tinygrad_edu": build_tinygrad,
                                           "numpy": build_numpy, "floor": floor_builder(build_tinygrad)},
               target=1.15, rtol=1e-4, atol=1e-3 * np.sqrt(n) / 32,
               note="C = A @ B; C.backward(G); float32")


# ---------------------------------------------------------------------------------------------
# mlp: one SGD training step
# ---------------------------------------------------------------------------------------------
def tinygrad_has_nn():
    """True when tinygrad_edu has nn.Linear, nn.functional.cross_entropy and optim.SGD."""
    try:
        from tinygrad_edu import nn, optim
        from tinygrad_edu.nn import functional
    except ImportError:
        return False
    return hasattr(nn, "Linear") and hasattr(functional, "cross_entropy") and hasattr(optim, "SGD")


def _mlp_init(sizes, batch, rng):
    """Weights in PyTorch's layout (out, in), uniform(-1/√in, 1/√in) like nn.Linear; inputs."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return params, x, y


def _param_names(n_layers):
    return [f"{i}.{kind}" for i in range(n_layers) for kind in ("weight", "bias")]


def mlp_row(batch=128, sizes=(784, 256, 256, 10), lr=0.01, api="auto"):
    """``api``: 'nn' (nn.Linear, F.cross_entropy, optim.SGD), 'raw' (tensors, log_softmax, gather,
    no_grad update) or 'auto' (nn when tinygrad_edu has it)."""
    if api == "auto":
        api = "nn" if tinygrad_has_nn() else "raw"
    if api not in ("nn", "raw"):
        raise ValueError(f"mlp_row: api must be 'auto', 'nn' or 'raw', got {api!r}")
    rng = np.random.default_rng(SEED)
    params0, x0, y0 = _mlp_init(sizes, batch, rng)
    names = _param_names(len(sizes) - 1)

    def outputs(loss, params):
        result = {"loss": np.asarray(loss)}
        for name, p in zip(names, params):
            result[name + ".grad"] = p.grad.numpy()
            result[name] = p.detach().numpy().copy()
        return result

    def build_tinygrad():
        import tinygrad_edu as tg
        x, y = tg.tensor(x0.copy()), tg.tensor(y0.copy())
        out = {}
        if api == "nn":
            from tinygrad_edu import nn, optim
            from tinygrad_edu.nn import functional as F
            layers = [nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])]
            params = [p for layer in layers for p in (layer.weight, layer.bias)]
            for p, value in zip(params, params0):
                p.array = value.copy()
            opt = optim.SGD(params, lr=lr)

            def step():
                opt.zero_grad()
                h = x
                for layer in layers[:-1]:
                    h = F.relu(layer(h))
                loss = F.cross_entropy(layers[-1](h), y)
                loss.backward()
                opt.step()
                out["loss"] = loss
        else:
            params = [tg.tensor(v.copy(), requires_grad=True) for v in params0]
            target = y.reshape(-1, 1)

            def step():
                for p in params:
                    p.grad = None
                h = x
                for i in range(0, len(params), 2):
                    h = h @ params[i].T + params[i + 1]
                    if i + 2 < len(params):
                        h = h.relu()
                loss = -h.log_softmax(dim=1).gather(1, target).mean()
                loss.backward()
                with tg.no_grad():
                    for p in params:
                        p -= lr * p.grad
                out["loss"] = loss

        return Workload(step, lambda: outputs(out["loss"].item(), params))

    def build_torch():
        import torch
        import torch.nn.functional as F
        x, y = torch.tensor(x0), torch.tensor(y0)
        out = {}
        if api == "nn":
            layers = [torch.nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])]
            params = [p for layer in layers for p in (layer.weight, layer.bias)]
            with torch.no_grad():
                for p, value in zip(params, params0):
                    p.copy_(torch.from_numpy(value))
            opt = torch.optim.SGD(params, lr=lr)

            def step():
                opt.zero_grad()
                h = x
                for layer in layers[:-1]:
                    h = F.relu(layer(h))
                loss = F.cross_entropy(layers[-1](h), y)
                loss.backward()
                opt.step()
                out["loss"] = loss
        else:
            params = [torch.tensor(v, requires_grad=True) for v in params0]
            target = y.reshape(-1, 1)

            def step():
                for p in params:
                    p.grad = None
                h = x
                for i in range(0, len(params), 2):
                    h = h @ params[i].T + params[i + 1]
                    if i + 2 < len(params):
                        h = h.relu()
                loss = -h.log_softmax(dim=1).gather(1, target).mean()
                loss.backward()
                with torch.no_grad():
                    for p in params:
                        p -= lr * p.grad
                out["loss"] = loss

        return Workload(step, lambda: outputs(out["loss"].item(), params))

    def build_numpy():
        params = [v.copy() for v in params0]
        grads = [None] * len(params)
        x, y = x0.copy(), y0.copy()
        rows = np.arange(batch)
        out = {}

        def step():
            # forward, keeping what backward needs
            hs, h = [x], x
            for i in range(0, len(params), 2):
                h = h @ params[i].T
                h += params[i + 1]
                if i + 2 < len(params):
                    np.maximum(h, 0, out=h)
                hs.append(h)
            logits = hs.pop()
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            total = e.sum(axis=1, keepdims=True)
            out["loss"] = -(shifted[rows, y] - np.log(total[:, 0])).mean()
            # backward: dL/dlogits = (softmax - onehot) / N, then each layer
            d = e / total
            d[rows, y] -= 1.0
            d /= batch
            for i in range(len(params) - 2, -1, -2):
                h_in = hs.pop()
                grads[i] = d.T @ h_in
                grads[i + 1] = d.sum(axis=0)
                if i:
                    d = d @ params[i]
                    d *= h_in > 0
            for p, g in zip(params, grads):
                p -= lr * g

        def outputs_numpy():
            result = {"loss": np.asarray(out["loss"])}
            for name, p, g in zip(names, params, grads):
                result[name + ".grad"] = g
                result[name] = p.copy()
            return result

        return Workload(step, outputs_numpy)

    shape = "-".join(str(s) for s in sizes)
    how = "nn.Linear + F.cross_entropy + optim.SGD" if api == "nn" else \
        "raw tensors + log_softmax/gather + no_grad SGD"
    return Row(f"MLP {shape} train step, batch {batch}",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy,
                "floor": floor_builder(build_tinygrad)},
               target=1.5, rtol=1e-4, atol=1e-5, note=how)


# ---------------------------------------------------------------------------------------------
# chain: framework overhead per op
# ---------------------------------------------------------------------------------------------
CHAIN_OPS = ("mul 0.9", "add c", "tanh", "sigmoid")


def chain_row(n_ops=200, shape=(8, 8)):
    rng = np.random.default_rng(SEED)
    x0 = rng.standard_normal(shape, dtype=np.float32)
    c0 = rng.standard_normal(shape, dtype=np.float32)

    def run_chain(x, c, tanh, sigmoid):
        y = x
        for i in range(n_ops):
            k = i % 4
            if k == 0:
                y = y * 0.9
            elif k == 1:
                y = y + c
            elif k == 2:
                y = tanh(y)
            else:
                y = sigmoid(y)
        return y

    def build_tinygrad():
        import tinygrad_edu as tg
        x, c = tg.tensor(x0.copy(), requires_grad=True), tg.tensor(c0.copy())
        out = {}

        def step():
            x.grad = None
            y = run_chain(x, c, tg.tanh, tg.sigmoid)
            y.sum().backward()
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_torch():
        import torch
        x, c = torch.tensor(x0, requires_grad=True), torch.tensor(c0)
        out = {}

        def step():
            x.grad = None
            y = run_chain(x, c, torch.tanh, torch.sigmoid)
            y.sum().backward()
            out["y"] = y

        return Workload(step, lambda: {"y": out["y"].detach().numpy(), "x.grad": x.grad.numpy()})

    def build_numpy():
        """The same chain by hand, each backward formula written out: the floor of an engine on NumPy
        (what one ufunc call costs, with nothing around it)."""
        out = {}

        def step():
            ys = [x0]
            for i in range(n_ops):
                ys.append(run_chain_op(i, ys[-1]))
            g = np.ones_like(x0)
            for i in reversed(range(n_ops)):
                k, y = i % 4, ys[i + 1]
                if k == 0:
                    g = g * np.float32(0.9)
                elif k == 2:
                    g = g * (1 - y * y)
                elif k == 3:
                    g = g * (y * (1 - y))
            out["y"], out["x.grad"] = ys[-1], g

        def run_chain_op(i, y):
            k = i % 4
            if k == 0:
                return y * np.float32(0.9)
            if k == 1:
                return y + c0
            if k == 2:
                return np.tanh(y)
            return 1 / (1 + np.exp(-y))

        return Workload(step, lambda: dict(out))

    return Row(f"chain of {n_ops} elementwise ops on {'x'.join(map(str, shape))}, fwd+bwd",
               {"torch": build_torch, "tinygrad_edu": build_tinygrad, "numpy": build_numpy,
                "floor": build_numpy},
               ops_per_step=n_ops, target=2.0, rtol=1e-4, atol=1e-6,
               note="ops cycle through " + ", ".join(CHAIN_OPS) + "; then sum().backward(); "
                    "numpy = floor: the same ufunc calls by hand")


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
ROWS = {"matmul": matmul_row, "mlp": mlp_row, "chain": chain_row}


def build_rows(names, mlp_api="auto"):
    rows = []
    for name in names:
        if name not in ROWS:
            raise SystemExit(f"bench_engine: unknown row {name!r}; choose from {', '.join(ROWS)}")
        rows.append(ROWS[name](api=mlp_api) if name == "mlp" else ROWS[name]())
    return rows


def parse_args(argv=None):
    p = benchmark_parser("python -m benchmarks.bench_engine", __doc__, ROWS, repeat=21, warmup=3,
                         min_round_ms=50.0, profile_calls=200)
    p.add_argument("--mlp-api", choices=("auto", "nn", "raw"), default="auto",
                   help="MLP written with tinygrad_edu.nn/optim or raw tensors (default: auto)")
    return p.parse_args(argv)


def main(argv=None, reexec=True):
    """The command line; ``reexec=False`` keeps the process (for tests: see harness.set_threads)."""
    args = parse_args(argv)
    warning = harness.slow_blas_warning()
    if warning:
        print(warning, file=sys.stderr)
    rows = build_rows([r.strip() for r in args.rows.split(",") if r.strip()], args.mlp_api)
    if args.profile:
        harness.profile_rows(rows, args.threads[0], args.profile_calls, reexec=reexec)
        return 0
    report = harness.run_rows(rows, thread_counts=args.threads, warmup=args.warmup,
                              repeat=args.repeat, min_round_s=args.min_round_ms / 1e3,
                              log=lambda s: print(s, file=sys.stderr), reexec=reexec)
    notes = {res.row.name: res.row.note for res in report["results"]}
    harness.print_and_save(report, [f"  {name}: {note}" for name, note in notes.items()], args.json,
                           args.markdown, title="Engine benchmark: tinygrad_edu vs PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
