"""The main job: train a multi-layer perceptron on MNIST and report its test accuracy.

    python -m tinygrad_edu                    # 784-256-256-10 MLP, 3 epochs of Adam, batch 128
    python -m tinygrad_edu --max-steps 100    # a quick smoke run

This is the whole deep-learning loop, written exactly as one would write it in PyTorch:

    for each epoch:
        shuffle the 60,000 training images
        for each batch of 128:  logits = model(x);  loss = cross_entropy(logits, y)
                                optimizer.zero_grad();  loss.backward();  optimizer.step()
    with no_grad():  accuracy = (argmax(model(x_test)) == y_test).mean()   # the 10,000 test images
"""
import argparse
import sys
import time

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn, optim
from tinygrad_edu.data import MNIST, ChecksumError, IDXFormatError, MNISTNotFoundError
from tinygrad_edu.nn import functional as F

# The training set's pixel mean and standard deviation (after scaling to [0, 1]): inputs are standardised.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def build_model(hidden=256):
    """784 → 256 → 256 → 10 with ReLU between: about 270,000 parameters."""
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
    model.eval()
    correct = 0
    with tg.no_grad():
        for start in range(0, len(x), batch_size):
            logits = model(tg.from_numpy(x[start:start + batch_size]))
            correct += int((logits.numpy().argmax(axis=1) == y[start:start + batch_size]).sum())
    model.train()
    return correct / len(x)


def make_optimizer(name, params, lr):
    if name == "adam":
        return optim.Adam(params, lr=lr)
    return optim.SGD(params, lr=lr, momentum=0.9)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_edu",
        description="Train an MLP (784-256-256-10, ReLU) on MNIST with tinygrad_edu and report its "
                    "test accuracy.")
    parser.add_argument("--epochs", type=int, default=3,
                        help="passes over the 60,000 training images (default 3)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    parser.add_argument("--lr", type=float, default=None,
                        help="learning rate (default 1e-3 for Adam, 0.05 for SGD)")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam",
                        help="Adam, or SGD with momentum 0.9 (default adam)")
    parser.add_argument("--max-steps", type=int, default=None,
                        help="stop training after this many steps in all")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for the weights and the shuffling (default 0)")
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="folder holding the MNIST .gz files (or DIR/mnist/); default: "
                             "$TINYGRAD_EDU_DATA, then the download cache")
    parser.add_argument("--no-download", action="store_true",
                        help="never download; fail if the files are missing")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for the matrix products (default 1: the steadiest on small "
                             "machines)")
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or (args.max_steps is not None and args.max_steps < 1):
        parser.error("--epochs, --batch-size and --max-steps must be positive")
    if args.lr is None:
        args.lr = 1e-3 if args.optimizer == "adam" else 0.05
    return args


def train(args, out=sys.stdout):
    """Run the job; returns the test accuracy."""
    from tqdm import tqdm

    train_set = MNIST(args.data, train=True, download=not args.no_download)
    test_set = MNIST(args.data, train=False, download=not args.no_download)
    x_train, y_train = prepare_images(train_set.images), train_set.labels
    x_test, y_test = prepare_images(test_set.images), test_set.labels

    tg.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = build_model()
    optimizer = make_optimizer(args.optimizer, model.parameters(), args.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"MLP 784-256-256-10: {n_params:,} parameters; {len(x_train):,} training and {len(x_test):,} test "
          f"images; {args.optimizer} lr={args.lr:g}, batch {args.batch_size}", file=out, flush=True)

    steps_per_epoch = -(-len(x_train) // args.batch_size)
    step = 0
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        n_steps = steps_per_epoch if args.max_steps is None else min(steps_per_epoch, args.max_steps - step)
        bar = tqdm(range(n_steps), desc=f"epoch {epoch}/{args.epochs}", unit="step", leave=False,
                   disable=args.no_progress or None, dynamic_ncols=True)
        loss_sum, seen, start = 0.0, 0, time.perf_counter()
        for i in bar:
            idx = order[i * args.batch_size:(i + 1) * args.batch_size]
            logits = model(tg.from_numpy(x_train[idx]))
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
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch}/{args.epochs}: train loss {loss_sum / max(seen, 1):.4f}  "
              f"({n_steps} steps, {elapsed:.1f} s, {seen / elapsed:,.0f} images/s)", file=out, flush=True)
        if args.max_steps is not None and step >= args.max_steps:
            break

    accuracy = evaluate(model, x_test, y_test)
    print(f"test accuracy: {100 * accuracy:.2f}% ({round(accuracy * len(x_test))}/{len(x_test)})",
          file=out, flush=True)
    return accuracy


def main(argv=None):
    """Entry point of ``python -m tinygrad_edu``; returns the process exit code."""
    args = parse_args(argv)
    tg.set_num_threads(args.threads)
    try:
        train(args)
    except (MNISTNotFoundError, ChecksumError, IDXFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
