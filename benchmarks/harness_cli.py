"""The command line every ``bench_*`` script shares, and its ``--profile`` option.

``benchmark_parser`` builds the argparse parser with the options all the scripts have (which rows,
timing rounds, threads, ``--json`` / ``--markdown`` output, profiling); each script adds its own
options and passes its own defaults.  ``--profile`` does not time anything: ``profile_rows`` runs
each row's step under cProfile, in tinygrad_edu and in torch, to show where the time goes.

``benchmarks/harness.py`` re-exports every name, so ``from .harness import benchmark_parser``
keeps working.
"""
import cProfile
import io
import pstats
import time

from .harness_threads import set_threads


# ---------------------------------------------------------------------------------------------
# Profiling: where does one library's step spend its time?
# ---------------------------------------------------------------------------------------------
def profile_step(step, calls=200, top=25, sort="tottime"):
    """Run ``step`` ``calls`` times under cProfile; return the stats text (µs are per step)."""
    step()  # warm
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    for _ in range(calls):
        step()
    profiler.disable()
    elapsed = (time.perf_counter() - start) / calls
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(top)
    header = f"{calls} steps, {elapsed * 1e6:.0f} us per step under the profiler\n"
    return header + out.getvalue()


def profile_rows(rows, threads, calls, reexec=True):
    """The ``--profile`` option of every ``bench_*``: cProfile each row's step in both libraries."""
    set_threads(threads, reexec=reexec)
    for row in rows:
        for library in ("tinygrad_edu", "torch"):
            print(f"==== {row.name}: {library} ====")
            print(profile_step(row.build[library]().step, calls=calls))


# ---------------------------------------------------------------------------------------------
# The command line every bench_* script shares
# ---------------------------------------------------------------------------------------------
def thread_counts(text):
    """argparse type for ``--threads``: comma-separated thread counts such as ``1,2``."""
    import argparse
    try:
        values = [int(v) for v in text.split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected thread counts >= 1, got {text!r}")
    return values


def benchmark_parser(prog, doc, rows, repeat, warmup, min_round_ms, profile_calls):
    """An argparse parser with the options every benchmark script has (rows, timing rounds, threads,
    output files, profiling); each script adds its own options to it and its own defaults here."""
    import argparse
    p = argparse.ArgumentParser(prog=prog, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", default=",".join(rows),
                   help=f"comma-separated rows to run (default: {','.join(rows)})")
    p.add_argument("--repeat", type=int, default=repeat, help=f"alternating timed rounds (default {repeat})")
    p.add_argument("--warmup", type=int, default=warmup,
                   help=f"untimed steps per library first (default {warmup})")
    p.add_argument("--min-round-ms", type=float, default=min_round_ms,
                   help=f"each round repeats a step until it lasts this long (default {min_round_ms:g} ms)")
    p.add_argument("--threads", type=thread_counts, default=[1],
                   help="threads per library; a list such as 1,2 reports each (default 1)")
    p.add_argument("--json", metavar="PATH", help="also write the results (with all samples) as JSON")
    p.add_argument("--markdown", metavar="PATH", help="also write the table as markdown")
    p.add_argument("--profile", action="store_true",
                   help="instead of timing, cProfile tinygrad_edu's step of each row (and torch's)")
    p.add_argument("--profile-calls", type=int, default=profile_calls, help="steps run under the profiler")
    return p
