"""The op library, one file per family.  Each op is a ``Function`` with its forward math on arrays
and its backward formula in Tensor ops, side by side."""
