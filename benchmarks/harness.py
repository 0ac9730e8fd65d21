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
"""
import cProfile
import datetime
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

REFERENCE = "torch"          # every ratio is "library time / torch time"
SUBJECT = "tinygrad_edu"     # the library the targets are about
LIBRARY_ORDER = ("torch", "tinygrad_edu", "numpy")
SLOW_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
_REEXEC_MARK = "TINYGRAD_EDU_BENCH_THREADS"


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
    outputs: Callable[[], Dict[str, object]]


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


@dataclass
class LibraryTiming:
    samples_s: List[float]   # seconds per step, one value per round
    inner: int               # steps per round

    @property
    def median_s(self):
        return statistics.median(self.samples_s)

    @property
    def min_s(self):
        return min(self.samples_s)


@dataclass
class RowResult:
    row: Row
    threads: int
    timings: Dict[str, LibraryTiming] = field(default_factory=dict)

    def ratio(self, library):
        """Median time of ``library`` over median time of torch."""
        return self.timings[library].median_s / self.timings[REFERENCE].median_s

    def paired_ratio(self, library):
        """Median over rounds of (library / torch) in the same round: robust to slow drifts."""
        pairs = zip(self.timings[library].samples_s, self.timings[REFERENCE].samples_s)
        return statistics.median(a / b for a, b in pairs)

    def meets_target(self):
        if self.row.target is None or SUBJECT not in self.timings:
            return None
        return self.ratio(SUBJECT) <= self.row.target


class MismatchError(AssertionError):
    """Two libraries computed different results for the same row."""


# ---------------------------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------------------------
_limits = []  # threadpoolctl limiters kept alive (they hold the setting until restored)
_torch_threads_before = []  # torch's thread count before the first set_threads()
_numba_threads_before = []  # numba's, likewise


def set_threads(n, reexec=True):
    """Give every library ``n`` threads: torch's intra-op pool, NumPy's BLAS and numba.

    NumPy's BLAS is limited at run time through threadpoolctl when it is installed.  Without it,
    the only way is the environment (read once, when OpenBLAS loads), so the process re-executes
    itself with ``OPENBLAS_NUM_THREADS`` & co. set (``reexec=True``, what the command line does);
    then only one thread count per run works.  With ``reexec=False`` (inside tests) NumPy's BLAS
    keeps its threads and ``environment()`` records how many.
    """
    try:
        import threadpoolctl
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        while _limits:
            _limits.pop().restore_original_limits()
        _limits.append(threadpoolctl.threadpool_limits(limits=n))
    elif reexec and os.environ.get(_REEXEC_MARK) != str(n):
        if os.environ.get(_REEXEC_MARK) is not None:
            raise RuntimeError(
                f"set_threads({n}): this process already pinned NumPy's BLAS to "
                f"{os.environ[_REEXEC_MARK]} threads through the environment; to measure several "
                "thread counts in one run, install threadpoolctl (pip install threadpoolctl)")
        _reexec_with_thread_env(n)
    numba = sys.modules.get("numba")
    if numba is not None:
        # first: starting numba's OpenMP layer resets the OpenMP thread count torch shares
        if not _numba_threads_before:
            _numba_threads_before.append(numba.get_num_threads())
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    import torch
    if not _torch_threads_before:
        _torch_threads_before.append(torch.get_num_threads())
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        raise RuntimeError(f"set_threads({n}): torch reports {torch.get_num_threads()} threads")


def restore_threads():
    """Undo ``set_threads`` (BLAS limits through threadpoolctl, numba's and torch's counts)."""
    while _limits:
        _limits.pop().restore_original_limits()
    if _numba_threads_before:
        sys.modules["numba"].set_num_threads(_numba_threads_before.pop())
    if _torch_threads_before:
        import torch
        torch.set_num_threads(_torch_threads_before.pop())


def _check_threads_still(n, log):
    """Warn when something (e.g. a numba kernel starting its OpenMP pool) changed torch's threads."""
    import torch
    if torch.get_num_threads() != n and log:
        log(f"warning: torch runs {torch.get_num_threads()} threads after the rows, {n} were set; "
            "something changed the OpenMP thread count while timing")


def _reexec_with_thread_env(n):
    """Restart this same command with the thread variables set before NumPy loads."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(n)
    os.environ[_REEXEC_MARK] = str(n)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable] + sys.orig_argv[1:])


# ---------------------------------------------------------------------------------------------
# What the numbers were measured on
# ---------------------------------------------------------------------------------------------
def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_info():
    """NumPy's BLAS as threadpoolctl sees it (library, version, architecture, threads)."""
    try:
        import threadpoolctl
    except ImportError:
        import numpy
        config = numpy.show_config(mode="dicts") if hasattr(numpy, "show_config") else {}
        blas = config.get("Build Dependencies", {}).get("blas", {}) if isinstance(config, dict) else {}
        return {"internal_api": blas.get("name", "unknown"), "version": blas.get("version"),
                "num_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "source": "numpy.show_config"}
    for pool in threadpoolctl.threadpool_info():
        if pool.get("user_api") == "blas" and "numpy" in pool.get("filepath", ""):
            keep = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
            return {k: pool.get(k) for k in keep}
    return {"internal_api": "not found by threadpoolctl"}


def environment():
    """Versions, machine and thread settings, recorded next to every result."""
    import numpy
    import torch
    import tinygrad_edu
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} logical CPUs, {platform.system()} "
                   f"{platform.machine()}",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numpy_blas": blas_info(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "tinygrad_edu": getattr(tinygrad_edu, "__version__", "unknown"),
        "git_commit": _git_commit(os.path.dirname(os.path.abspath(tinygrad_edu.__file__))),
        "env": {name: os.environ.get(name) for name in SLOW_BLAS_VARIABLES + THREAD_VARIABLES},
        "load_average_1min": _load_average(),  # other processes on a shared machine skew timings
    }


def _git_commit(folder):
    """The commit the measured code is at (``+dirty`` with uncommitted changes), or None."""
    import subprocess
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=folder,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return (commit + ("+dirty" if dirty else "")) or None


def _load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def slow_blas_warning():
    """A line to print when the variables that slow NumPy's OpenBLAS are set, else None."""
    present = [name for name in SLOW_BLAS_VARIABLES if os.environ.get(name)]
    if not present:
        return None
    unset = " ".join(f"-u {name}" for name in SLOW_BLAS_VARIABLES)
    return (f"warning: {', '.join(present)} set in the environment; they slow NumPy's OpenBLAS. "
            f"Run as: env {unset} python -m benchmarks.bench_engine")


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
        results[library] = {k: np.asarray(v, dtype=np.float64) for k, v in workload.outputs().items()}
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


# After a call, OpenBLAS's worker threads spin for ~0.1 s before sleeping (libgomp's, ~0.02 s).
# With more than one thread per library on a 2-core machine, the next library's round would
# share its cores with those spinning threads (measured: torch's 1024² matmul step took 104 ms
# right after NumPy's, 35 ms after a 0.1 s pause), so rounds wait this long when threads > 1.
SWITCH_PAUSE_S = 0.2


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


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------
def _fmt(value):
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def table_rows(report):
    """The table as lists of strings: one header, then one line per (thread count, row)."""
    header = ["threads", "row", "unit", "torch", "tinygrad_edu", "tg/torch", "target", "numpy",
              "numpy/torch"]
    lines = [header]
    for res in report["results"]:
        t, row = res.timings, res.row
        has_tg, has_np = SUBJECT in t, "numpy" in t
        meets = res.meets_target()
        target = "-" if row.target is None else f"<= {row.target:g}" + \
            ("" if meets is None else (" ok" if meets else " MISSED"))
        lines.append([
            str(res.threads), row.name, row.unit,
            _fmt(row.scale(t[REFERENCE].median_s)),
            _fmt(row.scale(t[SUBJECT].median_s)) if has_tg else "-",
            f"{res.ratio(SUBJECT):.2f}" if has_tg else "-",
            target,
            _fmt(row.scale(t["numpy"].median_s)) if has_np else "-",
            f"{res.ratio('numpy'):.2f}" if has_np else "-",
        ])
    return lines


def format_table(report):
    """A plain-text table for the terminal."""
    lines = table_rows(report)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def format_environment(report):
    lines = []
    for n, env in report["environment"].items():
        blas = env["numpy_blas"]
        lines.append(f"threads={n}: torch {env['torch']} ({env['torch_threads']} threads), numpy "
                     f"{env['numpy']} with {blas.get('internal_api')} {blas.get('version')} "
                     f"({blas.get('architecture')}, {blas.get('num_threads')} threads), python "
                     f"{env['python']}, tinygrad_edu {env['tinygrad_edu']} (commit "
                     f"{env.get('git_commit')})")
    first = next(iter(report["environment"].values()))
    lines.insert(0, f"{first['date']} on {first['machine']} (1-min load average "
                    f"{first.get('load_average_1min')} at the start)")
    set_vars = {k: v for k, v in first["env"].items() if v is not None}
    lines.append(f"environment variables: {set_vars or 'none of ' + ', '.join(first['env'])}")
    s = report["settings"]
    lines.append(f"method: {s['warmup']} warm-up steps, then {s['repeat']} alternating rounds of "
                 f">= {s['min_round_s'] * 1e3:.0f} ms per library (with more than 1 thread, "
                 f"a {SWITCH_PAUSE_S:g} s pause before each round lets the other library's BLAS/OpenMP "
                 "threads stop spinning); medians; ratios are median(library) / median(torch)")
    return "\n".join(lines)


def format_markdown(report, title="Benchmark"):
    lines = table_rows(report)
    md = [f"# {title}", "", "```", format_environment(report), "```", "",
          "| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    md += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines[1:]]
    return "\n".join(md) + "\n"


def report_json(report):
    """A JSON-ready dict: environment, settings, and every row's samples and medians."""
    rows = []
    for res in report["results"]:
        entry = {"row": res.row.name, "threads": res.threads, "unit": res.row.unit,
                 "ops_per_step": res.row.ops_per_step, "target": res.row.target,
                 "meets_target": res.meets_target(), "note": res.row.note, "libraries": {}}
        for lib, timing in res.timings.items():
            entry["libraries"][lib] = {
                "median": res.row.scale(timing.median_s), "min": res.row.scale(timing.min_s),
                "inner": timing.inner, "samples_s": timing.samples_s}
            if lib != REFERENCE:
                entry["libraries"][lib]["ratio_to_torch"] = res.ratio(lib)
                entry["libraries"][lib]["paired_ratio_to_torch"] = res.paired_ratio(lib)
        rows.append(entry)
    return {"environment": {str(k): v for k, v in report["environment"].items()},
            "settings": report["settings"], "results": rows}


def write_json(report, path):
    with open(path, "w") as f:
        json.dump(report_json(report), f, indent=1)
        f.write("\n")


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


def print_and_save(report, notes, json_path=None, markdown_path=None, title="Benchmark"):
    """Print the environment, the table and each row's note; write ``--json`` / ``--markdown`` if asked."""
    print(format_environment(report))
    print()
    print(format_table(report))
    for line in notes:
        print(line)
    if json_path:
        write_json(report, json_path)
    if markdown_path:
        with open(markdown_path, "w") as f:
            f.write(format_markdown(report, title=title))


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
