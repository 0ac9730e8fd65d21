"""A benchmark harness that times the same workload in tinygrad_edu and in PyTorch, in one process.

Why it is built this way
------------------------
The machines this project runs on are shared and noisy, so an absolute time means little; a
*ratio* against PyTorch measured in the same process, at the same moment, means a lot.  So:

* every **row** is one workload written once per library (``torch``, ``tinygrad_edu`` and,
  where it teaches something, ``numpy`` by hand with no autograd: the floor a NumPy engine can
  reach);
* before anything is timed, every library runs one step and the harness **checks that they
  computed the same thing** (outputs and gradients, to float32 tolerances): timing a wrong
  computation would be worse than useless;
* after a warm-up, the libraries run in **alternating rounds** (the order rotates each round), so
  a slow moment of the machine hits all of them alike; each round runs a step enough times to
  last ``min_round_s``, and we quote the **median** of the rounds;
* **threads are pinned**: one thread per library by default (``torch.set_num_threads`` and
  threadpoolctl's limit on NumPy's OpenBLAS); ``threads=2`` reports the 2-thread picture too.

A row reports time per step (ms) or, for overhead rows, time per op (µs/op).

Use it from code::

    from benchmarks.harness import Row, Workload, run_rows, format_table
    report = run_rows([my_row], thread_counts=[1], repeat=21)
    print(format_table(report))

or through ``python -m benchmarks.bench_engine`` (see benchmarks/README.md).

The harness is split by topic; this module holds what a benchmark is (``Row``, ``Workload``)
and the check-then-time loop, and re-exports the rest so that ``harness.NAME`` works for all:

* ``harness_threads.py``: pinning every library to the same number of threads (``set_threads``);
* ``harness_report.py``: results and ratios, the machine they ran on, the tables and JSON;
* ``harness_cli.py``: the options every ``bench_*`` script shares, and ``--profile``.
"""
import time
from dataclasses import dataclass
from typing import Callable, Dict, Optional

# Re-exported (``harness.set_threads``, ``from .harness import benchmark_parser``, ...): the bench_*
# scripts and the tests import every name from this module.
from .harness_cli import benchmark_parser, profile_rows, profile_step  # noqa: F401
from .harness_report import (  # noqa: F401
    REFERENCE, SLOW_BLAS_VARIABLES, SUBJECT, LibraryTiming, RowResult, blas_info, environment,
    format_environment, format_markdown, format_table, print_and_save, report_json, slow_blas_warning,
    table_rows, write_json)
from .harness_threads import (  # noqa: F401
    SWITCH_PAUSE_S, THREAD_VARIABLES, _check_threads_still, _reexec_with_thread_env, restore_threads,
    set_threads)

LIBRARY_ORDER = ("torch", "tinygrad_edu", "numpy", "floor")


# ---------------------------------------------------------------------------------------------
# What a benchmark is
# ---------------------------------------------------------------------------------------------
@dataclass
class Workload:
    """One library's version of a row.

    ``step()`` is what gets timed (it must do the whole job: e.g. zero the gradients, forward,
    backward, update).  ``outputs()`` returns ``{name: numpy array}`` of what the step computed
    (losses, gradients, updated weights); it is called once, untimed, to compare libraries.
    """
    step: Callable[[], object]
    outputs: Callable[[], Optional[Dict[str, object]]]   # None: nothing to compare (the floor)


@dataclass
class Row:
    """One line of the table: a workload built fresh, from the same seed, in each library.

    ``build`` maps a library name to a function that returns its ``Workload`` (weights and
    inputs must be identical across libraries, so the outputs can be compared).
    ``ops_per_step`` > 1 turns the reported unit into µs per op (for framework-overhead rows).
    ``target`` is the largest acceptable tinygrad_edu/torch ratio (None: no target).
    """
    name: str
    build: Dict[str, Callable[[], Workload]]
    ops_per_step: int = 1
    target: Optional[float] = None
    rtol: float = 1e-4
    atol: float = 1e-5
    note: str = ""

    @property
    def unit(self):
        return "us/op" if self.ops_per_step > 1 else "ms"

    def scale(self, seconds):
        """Seconds per step, in this row's unit."""
        return seconds / self.ops_per_step * 1e6 if self.ops_per_step > 1 else seconds * 1e3


class MismatchError(AssertionError):
    """Two libraries computed different results for the same row."""


# ---------------------------------------------------------------------------------------------
# Checking and timing
# ---------------------------------------------------------------------------------------------
def check_same_results(row, workloads, reference=REFERENCE):
    """Run one step in every library and compare each one's outputs with torch's.

    Raises ``MismatchError`` naming the row, the libraries, the output and the largest error.
    """
    import numpy as np
    results = {}
    for library, workload in workloads.items():
        workload.step()
        outputs = workload.outputs()
        if outputs is None:          # the floor (benchmarks/floors.py) computes nothing to compare
            continue
        results[library] = {k: np.asarray(v, dtype=np.float64) for k, v in outputs.items()}
    expected = results[reference]
    for library, got in results.items():
        if library == reference:
            continue
        if set(got) != set(expected):
            raise MismatchError(f"{row.name}: {library} returned outputs {sorted(got)}, "
                                f"{reference} returned {sorted(expected)}")
        for key in expected:
            a, b = got[key], expected[key]
            if a.shape != b.shape:
                raise MismatchError(f"{row.name}: '{key}' has shape {a.shape} in {library} but "
                                    f"{b.shape} in {reference}")
            if not np.allclose(a, b, rtol=row.rtol, atol=row.atol):
                err = np.abs(a - b)
                i = np.unravel_index(np.argmax(err - row.rtol * np.abs(b)), err.shape) if err.ndim else ()
                raise MismatchError(
                    f"{row.name}: '{key}' differs between {library} and {reference} "
                    f"(rtol={row.rtol}, atol={row.atol}): at index {tuple(int(j) for j in i)} "
                    f"{library}={a[i]!r}, {reference}={b[i]!r}; max abs error {err.max():.3g}")
    return results


def _time_calls(step, calls):
    """Seconds per call of ``step`` over ``calls`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(calls):
        step()
    return (time.perf_counter() - start) / calls


def time_row(row, threads=1, warmup=3, repeat=21, min_round_s=0.05, check=True, libraries=None,
             switch_pause_s=None):
    """Build the row in each library, check they agree, warm up, then time alternating rounds.

    ``switch_pause_s`` (default: ``SWITCH_PAUSE_S`` when ``threads`` > 1, else 0) is slept before
    each round so that the previous library's idle threads stop spinning first.
    """
    if switch_pause_s is None:
        switch_pause_s = SWITCH_PAUSE_S if threads > 1 else 0.0
    names = [lib for lib in LIBRARY_ORDER if lib in row.build and (libraries is None or lib in libraries)]
    names += [lib for lib in row.build if lib not in names and (libraries is None or lib in libraries)]
    if REFERENCE not in names:
        raise ValueError(f"{row.name}: the row must include {REFERENCE!r}, the reference library")
    workloads = {lib: row.build[lib]() for lib in names}
    if check:
        check_same_results(row, workloads)
    inner = {}
    for lib in names:
        for _ in range(warmup):
            workloads[lib].step()
        one = _time_calls(workloads[lib].step, 1)
        inner[lib] = max(1, int(min_round_s / max(one, 1e-9)))
    result = RowResult(row, threads, {lib: LibraryTiming([], inner[lib]) for lib in names})
    for r in range(repeat):
        shift = r % len(names)
        for lib in names[shift:] + names[:shift]:  # rotate who goes first each round
            if switch_pause_s:
                time.sleep(switch_pause_s)
            result.timings[lib].samples_s.append(_time_calls(workloads[lib].step, inner[lib]))
    return result


def run_rows(rows, thread_counts=(1,), warmup=3, repeat=21, min_round_s=0.05, check=True,
             libraries=None, log=print, reexec=True):
    """Time every row at every thread count; returns a report dict (see ``report_json``)."""
    results = []
    env_by_threads = {}
    for n in thread_counts:
        set_threads(n, reexec=reexec)
        env_by_threads[n] = environment()
        for row in rows:
            if log:
                log(f"[threads={n}] {row.name} ...")
            results.append(time_row(row, n, warmup, repeat, min_round_s, check, libraries))
        _check_threads_still(n, log)
    return {"environment": env_by_threads, "results": results,
            "settings": {"warmup": warmup, "repeat": repeat, "min_round_s": min_round_s,
                         "thread_counts": list(thread_counts)}}


def rows_main(argv, reexec, prog, doc, rows, title, repeat, warmup, min_round_ms, profile_calls):
    """The whole command line of a benchmark whose only options are the shared ones
    (``benchmark_parser``): pick the rows, then profile them or time them and print the table.
    ``rows`` maps a row name to a function that builds it; ``reexec=False`` keeps the process (tests)."""
    import sys
    args = benchmark_parser(prog, doc, rows, repeat=repeat, warmup=warmup, min_round_ms=min_round_ms,
                            profile_calls=profile_calls).parse_args(argv)
    warning = slow_blas_warning()
    if warning:
        print(warning, file=sys.stderr)
    names = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [n for n in names if n not in rows]
    if unknown:
        raise SystemExit(f"{prog.split()[-1].split('.')[-1]}: unknown row {unknown[0]!r}; choose from "
                         f"{', '.join(rows)}")
    built = [rows[n]() for n in names]
    if args.profile:
        profile_rows(built, args.threads[0], args.profile_calls, reexec=reexec)
        return 0
    report = run_rows(built, args.threads, args.warmup, args.repeat, args.min_round_ms / 1e3,
                      log=lambda s: print(s, file=sys.stderr), reexec=reexec)
    notes = [f"  {row.name}: {row.note}" for row in built]
    print_and_save(report, notes, args.json, args.markdown, title=title)
    return 0
