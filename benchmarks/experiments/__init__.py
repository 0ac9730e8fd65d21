"""Experiments: runs that answer one question about a result, not benchmark rows timed against PyTorch.

* ``gpt_shakespeare_torch``: the mini-GPT Shakespeare run again in PyTorch, with our weights and batches
  (does the engine follow PyTorch over a whole run?);
* ``gpt_seed_spread``: the same run over several seeds (how much of nanoGPT's 1.88 is the seed?);
* ``gpt_nanogpt_native``: nanoGPT's own code path and random numbers in PyTorch, and our engine replaying
  them (what does nanoGPT itself reach?).

Each runs as ``python -m benchmarks.experiments.NAME``; the results are in
``benchmarks/results/transformers.md``.
"""
