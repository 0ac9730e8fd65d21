"""Metric averaging across ranks, for evaluation: each rank scores its own shard, rank 0 reports.

A mean over the whole data set is **not** the mean of the ranks' means when the shards differ in
size.  With rank r holding n_r samples and a per-sample mean m_r, the global mean is

    m = Σ_r n_r · m_r / Σ_r n_r

so every rank sends the pair (n_r, n_r · m_r) and one all_reduce(SUM) of a float64 vector gives
every rank the same numerator and denominator.  Several metrics travel in one vector (one collective,
not one per metric), in float64 whatever the inputs (a float32 sum of many losses loses digits).

    val = average_metrics({"loss": mean_loss, "accuracy": acc}, count=n_samples_here)
    if dist.is_main_process(): print(val)         # the same dict on every rank

``sum_metrics`` adds counts (correct predictions, tokens, samples) across ranks.  Note that
``DistributedSampler`` without ``drop_last`` pads the last shards with repeated samples, which these
averages then count twice; evaluate with ``drop_last=False`` on a data set whose size the world size
divides, or accept the (tiny) bias, as torch users do.
"""
import numpy as np

from .collectives import SUM, all_reduce


def sum_metrics(values):
    """{name: number} summed over all ranks (float64), in one all_reduce; the same dict on every rank."""
    names = sorted(values)
    packed = np.array([float(values[name]) for name in names], dtype=np.float64)
    all_reduce(packed, op=SUM)
    return {name: float(v) for name, v in zip(names, packed)}


def average_metrics(values, count=1):
    """{name: this rank's mean over its ``count`` samples} -> the mean over all ranks' samples
    (weighted by count), the same dict on every rank.  ``count`` may be 0 on a rank with no data."""
    if count < 0:
        raise ValueError(f"average_metrics: count must be >= 0, got {count}")
    names = sorted(values)
    packed = np.array([float(values[name]) * count if count else 0.0 for name in names] + [count],
                      dtype=np.float64)                       # [n·m_1, n·m_2, …, n]
    all_reduce(packed, op=SUM)
    total = packed[-1]
    if total == 0:
        raise ValueError("average_metrics: no rank had any samples (every count was 0)")
    return {name: float(packed[i] / total) for i, name in enumerate(names)}
