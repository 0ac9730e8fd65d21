"""``python -m tinygrad_edu`` (or the ``tinygrad-edu`` command): train an MLP on MNIST.

See ``tinygrad_edu/train_mlp.py`` for the job and ``python -m tinygrad_edu --help`` for its options."""
import sys


def main(argv=None):
    from .train_mlp import main as train_mlp_main
    return train_mlp_main(argv)


if __name__ == "__main__":
    sys.exit(main())
