"""Lab 3, hidden checks (``lab grade`` only): edge sizes (a batch of one, one class, one feature), float32
kept by the layers, logits left unchanged by the loss, very negative logits, more optimizer steps with
the default hyper-parameters, two optimizers that must not share state, and training loops whose batch
is larger than the data set or a single row."""
import numpy as np

from tinygrad_edu.labs.checks import expect_close, expect_equal

from tinygrad_edu.labs.testing import lab_test

from ..public_tests import (check_accuracy, check_cross_entropy, check_epoch_calls, check_linear_backward,
                            check_linear_forward, check_optimizer, check_relu, draw_logits)


@lab_test("linear", points=2)
def test_linear_edge_sizes(student, ctx):
    for n, fan_in, fan_out in ((1, 3, 2), (4, 1, 5), (6, 7, 1), (9, 2, 3)):
        x, w = ctx.rng.standard_normal((n, fan_in)), ctx.rng.standard_normal((fan_out, fan_in))
        check_linear_forward(student, x, w, ctx.rng.standard_normal(fan_out))
        check_linear_forward(student, x, w, None)
        check_linear_backward(student, x, w, ctx.rng.standard_normal((n, fan_out)))


@lab_test("linear", points=1)
def test_linear_keeps_float32(student, ctx):
    x = ctx.rng.standard_normal((5, 3)).astype(np.float32)
    w = ctx.rng.standard_normal((4, 3)).astype(np.float32)
    b = ctx.rng.standard_normal(4).astype(np.float32)
    expect_equal("linear_forward of float32 arrays: the dtype of y", str(np.asarray(
        student.linear_forward(x, w, b)).dtype), "float32")
    grads = student.linear_backward(ctx.rng.standard_normal((5, 4)).astype(np.float32), x, w)
    expect_equal("linear_backward of float32 arrays: the dtypes of (dx, dw, db)",
                 [str(np.asarray(g).dtype) for g in grads], ["float32"] * 3)


@lab_test("relu", points=2)
def test_relu_more(student, ctx):
    check_relu(student, -np.abs(ctx.rng.standard_normal((3, 4))), ctx.rng.standard_normal((3, 4)),
               note=" (all negative)")
    check_relu(student, ctx.rng.standard_normal(7), ctx.rng.standard_normal(7), note=" (1-D)")
    x = np.zeros((2, 5))
    check_relu(student, x, ctx.rng.standard_normal(x.shape), note=" (all zeros: the gradient is 0)")
    x32 = ctx.rng.standard_normal((4, 3)).astype(np.float32)
    expect_equal("relu_forward of float32: the dtype", str(np.asarray(student.relu_forward(x32)).dtype),
                 "float32")


@lab_test("cross_entropy", points=2)
def test_cross_entropy_edges(student, ctx):
    check_cross_entropy(student, ctx.rng.standard_normal((1, 6)), np.array([4]), note=", a batch of one")
    check_cross_entropy(student, ctx.rng.standard_normal((4, 1)), np.zeros(4, dtype=np.int64),
                        note=", one class: the loss and gradient are 0")
    logits, labels = draw_logits(ctx.rng, 10.0)
    check_cross_entropy(student, logits - 2e3, labels, note=", very negative logits (-2e3)")
    logits = ctx.rng.standard_normal((50, 10))
    check_cross_entropy(student, logits, logits.argmax(axis=1), note=", labels at the largest logit")


@lab_test("cross_entropy", points=1)
def test_cross_entropy_leaves_logits_alone(student, ctx):
    logits, labels = draw_logits(ctx.rng, 5.0)
    before = logits.copy()
    student.cross_entropy(logits, labels)
    expect_close("the logits after cross_entropy(logits, labels) (the input must not be changed: no "
                 "in-place -= on it)", logits, before, rtol=0, atol=0)


@lab_test("optimizers", points=2)
def test_optimizers_defaults_and_long_runs(student, ctx):
    check_optimizer(student, ctx.rng, "Adam", 12)
    check_optimizer(student, ctx.rng, "SGD", 10, lr=0.03, momentum=0.95, weight_decay=0.01)
    check_optimizer(student, ctx.rng, "SGD", 3, lr=0.1, momentum=0.0, weight_decay=0.5)


@lab_test("optimizers", points=1)
def test_two_optimizers_do_not_share_state(student, ctx):
    for name, options in (("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.05))):
        first = [np.ones((2, 3))]
        second = [np.ones((2, 3))]
        a, b = getattr(student, name)(first, **options), getattr(student, name)(second, **options)
        grad = ctx.rng.standard_normal((2, 3))
        for _ in range(3):
            a.step([grad.copy()])
        b.step([grad.copy()])
        alone = [np.ones((2, 3))]
        getattr(student, name)(alone, **options).step([grad.copy()])
        expect_close(f"{name}: one step of a second optimizer after three steps of another (each keeps "
                     f"its own state, in the instance)", second[0], alone[0], rtol=0, atol=0)


@lab_test("train", points=2)
def test_train_epoch_edge_batches(student, ctx):
    check_epoch_calls(student, ctx.rng, 6, 10)
    check_epoch_calls(student, ctx.rng, 5, 1)
    check_epoch_calls(student, ctx.rng, 12, 3)


@lab_test("train", points=1)
def test_accuracy_edges(student, ctx):
    check_accuracy(student, ctx.rng, 9, 20)
    check_accuracy(student, ctx.rng, 30, 30)
    check_accuracy(student, ctx.rng, 31, 1)
