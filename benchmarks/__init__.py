"""Benchmarks: tinygrad_edu against PyTorch, in one process (see benchmarks/README.md)."""
