"""Lab 3, public checks: ``python -m tinygrad_edu lab check 3 .``.

Every expected value comes from PyTorch in float64 (``torch.nn.functional`` and its autograd,
``torch.optim.SGD`` and ``torch.optim.Adam``), on shapes and values drawn at grading time.  Each task is
checked alone: the training-loop tests lend your ``train_epoch`` a linear layer, a ReLU, a cross-entropy
and an Adam made of PyTorch's, so a mistake in ``linear`` never costs points in ``train``."""

import numpy as np
import torch

from tinygrad_edu.labs.checks import LabFailure, expect_close, expect_equal, expect_true
from tinygrad_edu.labs.testing import lab_test, lent


# ----------------------------------------------------------------------------- PyTorch stand-ins
def t64(array, grad=False):
    """A float64 torch tensor holding a copy of ``array``."""
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


def torch_linear_forward(x, w, b=None):
    with torch.no_grad():
        bias = None if b is None else torch.from_numpy(np.ascontiguousarray(b))
        return torch.nn.functional.linear(torch.from_numpy(np.ascontiguousarray(x)),
                                          torch.from_numpy(np.ascontiguousarray(w)), bias).numpy()


def torch_linear_backward(grad_out, x, w):
    tx = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    tw = torch.from_numpy(np.ascontiguousarray(w)).requires_grad_(True)
    tb = torch.zeros(w.shape[0], dtype=tw.dtype, requires_grad=True)
    torch.nn.functional.linear(tx, tw, tb).backward(torch.from_numpy(np.ascontiguousarray(grad_out)))
    return tx.grad.numpy(), tw.grad.numpy(), tb.grad.numpy()


def torch_relu_forward(x):
    return torch.relu(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def torch_relu_backward(grad_out, x):
    tx = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_(True)
    torch.relu(tx).backward(torch.from_numpy(np.ascontiguousarray(grad_out)))
    return tx.grad.numpy()


def torch_cross_entropy(logits, labels):
    tz = torch.from_numpy(np.ascontiguousarray(logits)).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(np.asarray(labels, dtype=np.int64)))
    loss.backward()
    return loss.item(), tz.grad.numpy()


class TorchAdam:
    """``torch.optim.Adam`` over the model's NumPy arrays (shared memory: updated in place)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.tensors = [torch.from_numpy(p) for p in self.params]
        self.optimizer = torch.optim.Adam(self.tensors, lr=lr, betas=betas, eps=eps,
                                          weight_decay=weight_decay)

    def step(self, grads):
        for tensor, grad in zip(self.tensors, grads):
            tensor.grad = torch.from_numpy(np.ascontiguousarray(grad, dtype=tensor.numpy().dtype))
        self.optimizer.step()


def lend_layers_and_loss(student):
    """What a training-loop test lends: correct layers, loss and Adam."""
    return lent(student, linear_forward=torch_linear_forward, linear_backward=torch_linear_backward,
                relu_forward=torch_relu_forward, relu_backward=torch_relu_backward,
                cross_entropy=torch_cross_entropy, Adam=TorchAdam)


def draw_sizes(rng):
    """A batch size, in and out features, all different from each other (so a transpose shows)."""
    n, fan_in, fan_out = (int(v) for v in rng.choice(np.arange(2, 9), size=3, replace=False))
    return n, fan_in, fan_out


# ----------------------------------------------------------------------------- linear
def check_linear_forward(student, x, w, b):
    what = f"linear_forward(x {x.shape}, w {w.shape}{', no bias' if b is None else ''})"
    got = student.linear_forward(x, w, b)
    tb = None if b is None else t64(b)
    expect_close(f"{what}: y = x @ w.T + b, shape (N, out)", got,
                 torch.nn.functional.linear(t64(x), t64(w), tb).detach().numpy(), rtol=1e-12, atol=1e-12)


def check_linear_backward(student, x, w, grad_out):
    what = f"linear_backward(grad_out {grad_out.shape}, x {x.shape}, w {w.shape})"
    tx, tw, tb = t64(x, True), t64(w, True), t64(np.zeros(w.shape[0]), True)
    torch.nn.functional.linear(tx, tw, tb).backward(t64(grad_out))
    got = student.linear_backward(grad_out, x, w)
    expect_true(what, isinstance(got, tuple) and len(got) == 3, "should return a triple (dx, dw, db)")
    expect_close(f"{what}: db (grad_out summed over the batch, shape (out,))", got[2], tb.grad.numpy(),
                 rtol=1e-12, atol=1e-12)
    expect_close(f"{what}: dW (grad_out.T @ x, shape (out, in) like w)", got[1], tw.grad.numpy(),
                 rtol=1e-12, atol=1e-12)
    expect_close(f"{what}: dx (grad_out @ w, shape (N, in) like x)", got[0], tx.grad.numpy(),
                 rtol=1e-12, atol=1e-12)


@lab_test("linear", points=3)
def test_linear_forward(student, ctx):
    for _ in range(3):
        n, fan_in, fan_out = draw_sizes(ctx.rng)
        check_linear_forward(student, ctx.rng.standard_normal((n, fan_in)),
                             ctx.rng.standard_normal((fan_out, fan_in)), ctx.rng.standard_normal(fan_out))
    check_linear_forward(student, ctx.rng.standard_normal((3, 5)), ctx.rng.standard_normal((4, 5)), None)


@lab_test("linear", points=4)
def test_linear_backward(student, ctx):
    for _ in range(3):
        n, fan_in, fan_out = draw_sizes(ctx.rng)
        x, w = ctx.rng.standard_normal((n, fan_in)), ctx.rng.standard_normal((fan_out, fan_in))
        check_linear_backward(student, x, w, ctx.rng.standard_normal((n, fan_out)))


# ----------------------------------------------------------------------------- relu
def check_relu(student, x, grad_out, note=""):
    tx = t64(x, True)
    y = torch.relu(tx)
    y.backward(t64(grad_out))
    expect_close(f"relu_forward(x of shape {x.shape}){note}", student.relu_forward(x), y.detach().numpy(),
                 rtol=0, atol=0)
    expect_close(f"relu_backward(grad_out, x of shape {x.shape}){note}", student.relu_backward(grad_out, x),
                 tx.grad.numpy(), rtol=0, atol=0)


@lab_test("relu", points=2)
def test_relu(student, ctx):
    for shape in ((4, 7), (3, 2, 5)):
        check_relu(student, ctx.rng.standard_normal(shape), ctx.rng.standard_normal(shape))


@lab_test("relu", points=2)
def test_relu_at_zero(student, ctx):
    x = ctx.rng.integers(-2, 3, size=(5, 6)).astype(np.float64)
    check_relu(student, x, ctx.rng.standard_normal(x.shape),
               note=" with x holding exact zeros (the gradient at x == 0 is 0, as torch: pass it only "
                    "where x > 0)")


# ----------------------------------------------------------------------------- cross_entropy
def check_cross_entropy(student, logits, labels, note=""):
    what = f"cross_entropy(logits of shape {logits.shape}{note})"
    tz = t64(logits, True)
    loss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(np.asarray(labels, dtype=np.int64)))
    loss.backward()
    got = student.cross_entropy(logits.copy(), labels)
    expect_true(what, isinstance(got, tuple) and len(got) == 2, "should return a pair (loss, dlogits)")
    expect_close(f"{what}: the loss (the MEAN over the batch of -log softmax at the label)",
                 np.asarray(got[0], dtype=np.float64), loss.item(), rtol=1e-10, atol=1e-12)
    expect_close(f"{what}: dlogits ((softmax - onehot) / N)", got[1], tz.grad.numpy(), rtol=1e-9,
                 atol=1e-14)


def draw_logits(rng, scale=1.0):
    n, c = (int(v) for v in rng.choice(np.arange(2, 9), size=2, replace=False))
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


@lab_test("cross_entropy", points=3)
def test_cross_entropy(student, ctx):
    for scale in (1.0, 3.0, 0.1):
        check_cross_entropy(student, *draw_logits(ctx.rng, scale))


@lab_test("cross_entropy", points=3)
def test_cross_entropy_large_logits(student, ctx):
    logits, labels = draw_logits(ctx.rng, 1e3)
    logits[0, :] += 1e3
    check_cross_entropy(student, logits, labels, note=", large logits of size 1e3: exp(1000) overflows, "
                                                      "so subtract each row's max first")


# ----------------------------------------------------------------------------- optimizers
SHAPES = ((3, 4), (5,), (2, 3, 2))


def check_optimizer(student, rng, name, steps, **options):
    """Run the student's optimizer and torch's side by side on the same parameters and gradients."""
    what = f"{name}({', '.join(f'{k}={v}' for k, v in options.items())})"
    params = [rng.standard_normal(shape) for shape in SHAPES]
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    optimizer = getattr(student, name)(params, **options)
    reference = getattr(torch.optim, name)(tensors, **options)
    for step in range(1, steps + 1):
        grads = [rng.standard_normal(shape) for shape in SHAPES]
        grads[1][0] = 0.0                                 # a coordinate with no gradient at all
        for tensor, grad in zip(tensors, grads):
            tensor.grad = torch.tensor(grad)
        optimizer.step([g.copy() for g in grads])
        reference.step()
        for k, (p, tensor) in enumerate(zip(params, tensors)):
            expect_close(f"{what}: parameter {k} after step {step} (the array you were given, updated in "
                         f"place: p -= ...)", p, tensor.detach().numpy(), rtol=1e-11, atol=1e-13)


@lab_test("optimizers", points=2)
def test_sgd_plain(student, ctx):
    check_optimizer(student, ctx.rng, "SGD", 3, lr=0.1)


@lab_test("optimizers", points=2)
def test_sgd_momentum(student, ctx):
    check_optimizer(student, ctx.rng, "SGD", 5, lr=0.05, momentum=0.9)
    check_optimizer(student, ctx.rng, "SGD", 4, lr=0.2, momentum=0.5)


@lab_test("optimizers", points=2)
def test_sgd_weight_decay(student, ctx):
    check_optimizer(student, ctx.rng, "SGD", 4, lr=0.1, momentum=0.8, weight_decay=0.3)


@lab_test("optimizers", points=3)
def test_adam(student, ctx):
    check_optimizer(student, ctx.rng, "Adam", 5, lr=0.1, betas=(0.8, 0.9), eps=0.1)
    check_optimizer(student, ctx.rng, "Adam", 6, lr=0.01)


@lab_test("optimizers", points=2)
def test_adam_weight_decay(student, ctx):
    check_optimizer(student, ctx.rng, "Adam", 4, lr=0.05, betas=(0.7, 0.95), eps=1e-3, weight_decay=0.2)


# ----------------------------------------------------------------------------- train
class Recorder:
    """A fake model and optimizer that write down every call: which rows the model saw, what
    ``backward`` got and returned, what ``step`` got."""

    def __init__(self, rng, classes):
        self.rng, self.classes, self.events, self.params = rng, classes, [], [np.zeros(3)]

    def forward(self, x):
        logits = self.rng.standard_normal((len(x), self.classes))
        self.events.append(("forward", x.copy(), logits.copy()))
        return logits

    def backward(self, dlogits):
        grads = [self.rng.standard_normal(3)]
        self.events.append(("backward", np.array(dlogits, copy=True), grads))
        return grads

    def step(self, grads):
        self.events.append(("step", grads))


def check_epoch_calls(student, rng, n, batch_size, classes=4):
    where = f"train_epoch on {n} samples, batch_size {batch_size}"
    x = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))     # row i holds i
    y = rng.integers(0, classes, size=n)
    seed = int(rng.integers(1 << 30))
    fake = Recorder(np.random.default_rng(seed + 1), classes)
    with lent(student, cross_entropy=torch_cross_entropy):
        losses = student.train_epoch(fake, fake, x, y, batch_size, np.random.default_rng(seed))
    order = np.random.default_rng(seed).permutation(n)
    starts = list(range(0, n, batch_size))
    forwards = [event for event in fake.events if event[0] == "forward"]
    seen = np.concatenate([event[1][:, 0] for event in forwards] or [[]]).astype(int)
    expect_equal(f"{where}: the rows of x the model saw, in order (every sample used once per epoch, in "
                 f"the order rng.permutation(N), called once)", seen.tolist(), order.tolist())
    kinds = [event[0] for event in fake.events]
    expect_equal(f"{where}: the calls made (per batch: model.forward, model.backward, optimizer.step)",
                 kinds, ["forward", "backward", "step"] * len(starts))
    sizes = [len(event[1]) for event in fake.events[0::3]]
    expect_equal(f"{where}: the batch sizes", sizes, [len(order[s:s + batch_size]) for s in starts])
    expect_true(f"{where}: the return value", losses is not None and len(losses) == len(starts),
                f"should be a list of the {len(starts)} batch losses")
    for k, start in enumerate(starts):
        forward, backward, step = fake.events[3 * k:3 * k + 3]
        loss, dlogits = torch_cross_entropy(forward[2], y[order[start:start + batch_size]])
        expect_close(f"{where}: the loss of batch {k} (cross_entropy of the logits and THAT batch's labels "
                     f"y[batch])", losses[k], loss, rtol=1e-12, atol=1e-12)
        expect_close(f"{where}: what model.backward got for batch {k} (cross_entropy's dlogits)", backward[1],
                     dlogits, rtol=1e-12, atol=1e-12)
        given = list(step[1]) if isinstance(step[1], (list, tuple)) else [step[1]]
        expect_true(f"{where}: what optimizer.step got for batch {k}", len(given) == len(backward[2]) and
                    all(np.array_equal(a, b) for a, b in zip(given, backward[2])),
                    "should be the list of gradients model.backward returned for that batch")


@lab_test("train", points=3)
def test_train_epoch_uses_every_sample_once(student, ctx):
    check_epoch_calls(student, ctx.rng, 23, 5)
    check_epoch_calls(student, ctx.rng, 12, 4)


def check_accuracy(student, rng, n, batch_size=None):
    classes = 5
    logits = rng.standard_normal((n, classes))
    y = rng.integers(0, classes, size=n)
    y[:n // 2] = logits[:n // 2].argmax(axis=1)          # about half right, for sure

    class Fixed:
        calls = []

        def forward(self, x):
            self.calls.append(len(x))
            return logits[x[:, 0].astype(int)]

    x = np.arange(n, dtype=np.float64)[:, None]
    model = Fixed()
    got = student.accuracy(model, x, y) if batch_size is None else student.accuracy(model, x, y, batch_size)
    where = f"accuracy on {n} samples" + ("" if batch_size is None else f", batch_size {batch_size}")
    expect_close(f"{where} (the fraction of rows whose largest logit is at the label)",
                 np.asarray(got, dtype=np.float64), float(np.mean(logits.argmax(axis=1) == y)), rtol=1e-12,
                 atol=0)
    size = 1000 if batch_size is None else batch_size
    expect_equal(f"{where}: the batch sizes model.forward saw", model.calls,
                 [len(range(n)[s:s + size]) for s in range(0, n, size)])


@lab_test("train", points=2)
def test_accuracy(student, ctx):
    check_accuracy(student, ctx.rng, 37, 10)
    check_accuracy(student, ctx.rng, 1203)


@lab_test("train", points=2)
def test_train_epoch_loss_decreases(student, ctx):
    x = ctx.rng.standard_normal((48, 12)).astype(np.float32)
    y = ctx.rng.integers(0, 4, size=48)
    with lend_layers_and_loss(student):
        model = student.MLP([12, 16, 4], np.random.default_rng(ctx.seed))
        optimizer = student.Adam(model.params, lr=0.02)
        first = student.train_epoch(model, optimizer, x, y, 16, np.random.default_rng(1))
        for epoch in range(30):
            last = student.train_epoch(model, optimizer, x, y, 16, np.random.default_rng(2 + epoch))
    expect_true("train_epoch with Adam(lr=0.02) on 48 fixed samples, 31 epochs", first is not None and
                last is not None and np.mean(last) < 0.5 * np.mean(first),
                f"the mean batch loss went from {np.mean(first) if first else None} to "
                f"{np.mean(last) if last else None}; it should at least halve (is optimizer.step given "
                f"model.backward's gradients?)")


# ----------------------------------------------------------------------------- MNIST (slow)
def prepare(images):
    """uint8 (N, 28, 28) -> float32 (N, 784), normalised with MNIST's mean and std."""
    return ((images.reshape(len(images), 784).astype(np.float32) / 255.0 - 0.1307) / 0.3081)


#: the reference reaches 97.6-97.7% test accuracy in about 15 s on one core with these
_MNIST = []


def mnist_arrays():
    """(x_train, y_train, x_test, y_test), prepared; read once per process (the arrays are not changed)."""
    if not _MNIST:
        from tinygrad_edu.data.mnist import load_mnist
        try:
            train_images, train_labels = load_mnist(train=True)
            test_images, test_labels = load_mnist(train=False)
        except OSError as exc:
            raise LabFailure(f"MNIST could not be loaded ({exc}); set TINYGRAD_EDU_DATA to the folder "
                             f"holding mnist/") from None
        _MNIST.extend([prepare(train_images), train_labels, prepare(test_images), test_labels])
    return tuple(_MNIST)


#: with these, correct code reaches 97.7-98.0% test accuracy (12 seeds), in about 5 s on one core
MNIST_EPOCHS, MNIST_BATCH, MNIST_LR, MNIST_DECAY = 6, 128, 2e-3, 0.6


@lab_test("train", points=3, slow=True)
def test_mnist_97_percent(student, ctx):
    x_train, train_labels, x_test, test_labels = mnist_arrays()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with lend_layers_and_loss(student):
            model = student.MLP([784, 128, 10], np.random.default_rng(ctx.seed))
            optimizer = student.Adam(model.params, lr=MNIST_LR)
            for epoch in range(MNIST_EPOCHS):
                for group in optimizer.optimizer.param_groups:      # lr 2e-3, times 0.6 every epoch
                    group["lr"] = MNIST_LR * MNIST_DECAY ** epoch
                student.train_epoch(model, optimizer, x_train, train_labels, MNIST_BATCH,
                                    np.random.default_rng(ctx.seed + epoch))
            got = student.accuracy(model, x_test, test_labels)
            right = float(np.mean(model.forward(x_test).argmax(axis=1) == test_labels))
    finally:
        torch.set_num_threads(threads)
    expect_close("accuracy(model, x_test, y_test) on MNIST's 10,000 test images (the fraction correct)",
                 np.asarray(got, dtype=np.float64), right, rtol=1e-12, atol=0)
    expect_true(f"a 784-128-10 MLP trained with train_epoch (Adam, lr {MNIST_LR} times {MNIST_DECAY} "
                f"every epoch, batch {MNIST_BATCH}, {MNIST_EPOCHS} epochs) on MNIST", right >= 0.97,
                f"test accuracy {right:.4f}, expected at least 0.97 (does every batch take one optimizer "
                f"step on its own shuffled rows and labels?)")
