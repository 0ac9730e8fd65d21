"""The training tasks of ``benchmarks/bench_gpu.py`` (its ``train`` part, and the GPU tests' train steps):
the same network, batch and optimizer in tinygrad_edu and in PyTorch, and one step of each library.

* ``Task``: ``make_ours()`` (seeded) / ``make_torch()`` (ours' weights copied), the batch as NumPy
  arrays, each library's loss and optimizer;
* ``mlp_task`` (the tests' smallest network, not a benchmark row) and ``TASKS``: mini-VGG, airbench48,
  GPT (4L 4H 128, 12x64 tokens) and BERT (6L 384, 16x64 tokens); ``smoke=True``: tiny sizes;
* ``ours_step(task, device)`` / ``torch_step(task, device)``: one optimizer step on ``device``.
"""
import numpy as np

SEED = 0


class Task:
    """One train step: ``make_ours()`` (seeded) / ``make_torch()`` (ours' weights copied), the batch as
    NumPy arrays, the loss of each library, and each library's optimizer."""

    def __init__(self, name, make_ours, make_torch, arrays, ours_loss, torch_loss, ours_opt, torch_opt):
        self.name, self.make_ours, self.make_torch, self.arrays = name, make_ours, make_torch, arrays
        self.ours_loss, self.torch_loss = ours_loss, torch_loss
        self.ours_opt, self.torch_opt = ours_opt, torch_opt


def _seeded(make):
    def build():
        import tinygrad_edu as tg
        tg.manual_seed(SEED)
        return make()
    return build


def _copy_to_torch(ours, theirs):
    import torch
    sd = {k: torch.tensor(np.array(v.detach().cpu().numpy())) for k, v in ours.state_dict().items()}
    missing, unexpected = theirs.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"bench_gpu: names differ: missing {missing}, unexpected {unexpected}")
    return theirs


def _image_batch(batch, channels, size, classes=10):
    rng = np.random.default_rng(SEED)
    return (rng.standard_normal((batch, channels, size, size), dtype=np.float32),
            rng.integers(0, classes, batch).astype(np.int64))


def _ce(model, x, y):
    from tinygrad_edu.nn import functional as F
    return F.cross_entropy(model(x), y)


def _torch_ce(model, x, y):
    import torch.nn.functional as F
    return F.cross_entropy(model(x), y)


def _sgd(**kw):
    return (lambda m: __import__("tinygrad_edu").optim.SGD(m.parameters(), **kw),
            lambda m: __import__("torch").optim.SGD(m.parameters(), **kw))


def mlp_task(smoke=False):
    """An MLP on 28 x 28 images (the tests' smallest network; not a benchmark row)."""
    from tinygrad_edu import models
    hidden = (16,) if smoke else (256, 256)

    def make_torch():
        from benchmarks.torch_twins import MLP
        return MLP(784, hidden, 10)
    make = _seeded(lambda: models.MLP(784, hidden, 10))
    ours_opt, torch_opt = _sgd(lr=0.1, momentum=0.9)
    return Task("MLP", make, lambda: _copy_to_torch(make(), make_torch()),
                _image_batch(4 if smoke else 64, 1, 28), _ce, _torch_ce, ours_opt, torch_opt)


def vgg_task(smoke=False):
    from tinygrad_edu import models
    config = dict(models.BENCHMARK_CONFIG)
    size = 8 if smoke else 32
    if smoke:
        config.update(cfg=[4, "M", 8, "M"], hidden=16)
    blocks = models.vgg.MINI_CONFIGS[config["cfg"]] if isinstance(config["cfg"], str) else config["cfg"]

    def make_torch():
        from benchmarks.torch_twins import VGGMini
        return VGGMini(config["num_classes"], config["in_channels"], config["batch_norm"], blocks,
                       config["hidden"], dropout=0.0, input_size=size)
    make = _seeded(lambda: models.vgg_mini(**config, dropout=0.0, input_size=size))
    ours_opt, torch_opt = _sgd(lr=0.01)
    return Task("mini-VGG", make, lambda: _copy_to_torch(make(), make_torch()),
                _image_batch(4 if smoke else 32, config["in_channels"], size), _ce, _torch_ce,
                ours_opt, torch_opt)


def airbench_task(smoke=False):
    from tinygrad_edu import models
    widths = (4, 8, 8) if smoke else models.airbench.AIRBENCH_WIDTHS["airbench48"]

    def make_torch():
        from benchmarks.torch_twins import AirbenchNet
        return AirbenchNet(widths)
    make = _seeded(lambda: models.AirbenchNet(10, 3, widths))
    ours_opt, torch_opt = _sgd(lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    return Task("airbench48" if not smoke else "airbench-tiny", make,
                lambda: _copy_to_torch(make(), make_torch()),
                _image_batch(4 if smoke else 32, 3, 24 if smoke else 32), _ce, _torch_ce, ours_opt, torch_opt)


def gpt_task(smoke=False):
    from tinygrad_edu.models.gpt import GPT, GPTConfig
    config = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=8) if smoke else GPTConfig()
    batch = 2 if smoke else 12
    rng = np.random.default_rng(SEED)
    arrays = tuple(rng.integers(0, config.vocab_size, (batch, config.block_size)).astype(np.int64)
                   for _ in range(2))

    def make_torch():
        from benchmarks.torch_twins import GPT as GPTTwin
        return _copy_to_torch(make(), GPTTwin(config))
    make = _seeded(lambda: GPT(config))
    options = (0.1, 1e-3, (0.9, 0.99))
    c = config
    return Task(f"GPT {c.n_layer}L{c.n_head}H{c.n_embd} {batch}x{c.block_size}", make, make_torch, arrays,
                lambda m, x, y: m(x, y)[1], lambda m, x, y: m(x, y)[1],
                lambda m: m.configure_optimizers(*options), lambda m: m.configure_optimizers(*options))


def bert_task(smoke=False):
    from tinygrad_edu.models.bert import BertConfig, BertForSequenceClassification
    from benchmarks.bench_bert import MINILM, make_batch
    config = dict(MINILM)
    if smoke:
        config.update(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16)
    batch, length = (2, 8) if smoke else (16, 64)
    make = _seeded(lambda: BertForSequenceClassification(BertConfig(**config), num_labels=2))

    def make_torch():
        import transformers
        model = transformers.BertForSequenceClassification(transformers.BertConfig(**config, num_labels=2))
        return _copy_to_torch(make(), model)
    import tinygrad_edu as tg
    import importlib.util
    return Task(f"BERT {config['num_hidden_layers']}L {config['hidden_size']} {batch}x{length}", make,
                make_torch if importlib.util.find_spec("transformers") else None,
                make_batch(batch, length, config["vocab_size"]),
                lambda m, ids, mask, y: m(ids, attention_mask=mask, labels=y).loss,
                lambda m, ids, mask, y: m(input_ids=ids, attention_mask=mask, labels=y).loss,
                lambda m: tg.optim.AdamW(m.parameters(), lr=2e-5, weight_decay=0.01),
                lambda m: __import__("torch").optim.AdamW(m.parameters(), lr=2e-5, weight_decay=0.01))


TASKS = {"vgg": vgg_task, "airbench": airbench_task, "gpt": gpt_task, "bert": bert_task}


def ours_step(task, device):
    """``(step, outputs)``: one optimizer step of our model on ``device``; ``outputs()`` is the loss,
    every gradient and every parameter after the step, as host arrays."""
    import tinygrad_edu as tg
    model = task.make_ours().to(device)
    model.train()
    opt = task.ours_opt(model)
    data = [tg.tensor(a, device=device) for a in task.arrays]
    state = {}

    def step():
        opt.zero_grad()
        loss = task.ours_loss(model, *data)
        loss.backward()
        opt.step()
        state["loss"] = loss

    def outputs():
        out = {"loss": np.asarray(state["loss"].detach().cpu().numpy())}
        for name, p in model.named_parameters():
            out[name + ".grad"] = p.grad.detach().cpu().numpy().copy()
            out[name] = p.detach().cpu().numpy().copy()
        return out
    return step, outputs, model


def torch_step(task, device):
    """torch's step, in plain float32 like CuPy's (no TF32 in cuDNN convolutions or cuBLAS products)."""
    import torch
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    model = task.make_torch().to(device)
    model.train()
    opt = task.torch_opt(model)
    data = [torch.from_numpy(a).to(device) for a in task.arrays]

    def step():
        opt.zero_grad()
        loss = task.torch_loss(model, *data)
        loss.backward()
        opt.step()
    return step
