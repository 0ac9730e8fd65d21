"""``python -m tinygrad_edu`` (or the ``tinygrad-edu`` command): see ``cli.py``, the one parser."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
