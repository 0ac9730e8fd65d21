"""What the benchmark harness reports: the results of a timed row, the machine they were
measured on, and the tables (terminal, markdown, JSON) that show them.

* ``LibraryTiming`` / ``RowResult``: the seconds per step of every round, per library, and the
  ratios to PyTorch (``ratio``: median over median; ``paired_ratio``: median of the per-round
  ratios, robust to slow drifts of the machine).
* ``environment()``: versions, CPU, BLAS, thread settings, git commit and load average, recorded
  next to every result (a number without its machine means little); ``slow_blas_warning()``.
* ``format_table`` / ``format_markdown`` / ``report_json`` / ``write_json`` and
  ``print_and_save``, what every ``bench_*`` script ends with.

A *report* is the dict ``harness.run_rows`` returns: ``{"environment": {threads: environment()},
"results": [RowResult, ...], "settings": {...}}``.  ``benchmarks/harness.py`` re-exports every
name, so ``harness.format_table`` keeps working.
"""
import datetime
import json
import os
import platform
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, List

from .harness_threads import SWITCH_PAUSE_S, THREAD_VARIABLES

if TYPE_CHECKING:  # for type checkers only: harness.py imports this module, not the other way round
    from .harness import Row

REFERENCE = "torch"          # every ratio is "library time / torch time"
SUBJECT = "tinygrad_edu"     # the library the targets are about
SLOW_BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------------------------------------
# What a timed row gives
# ---------------------------------------------------------------------------------------------
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
    row: "Row"
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
# Reporting
# ---------------------------------------------------------------------------------------------
def _fmt(value):
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def table_rows(report):
    """The table as lists of strings: one header, then one line per (thread count, row).

    ``floor`` is the same BLAS calls alone (``benchmarks/floors.py``); ``tg/floor`` and
    ``torch/floor`` say how far each library is from it."""
    header = ["threads", "row", "unit", "torch", "tinygrad_edu", "tg/torch", "target", "numpy",
              "numpy/torch", "floor", "tg/floor", "torch/floor"]
    lines = [header]
    for res in report["results"]:
        t, row = res.timings, res.row
        has_tg, has_np, has_floor = SUBJECT in t, "numpy" in t, "floor" in t
        meets = res.meets_target()
        target = "-" if row.target is None else f"<= {row.target:g}" + \
            ("" if meets is None else (" ok" if meets else " MISSED"))
        floor_s = t["floor"].median_s if has_floor else None
        lines.append([
            str(res.threads), row.name, row.unit,
            _fmt(row.scale(t[REFERENCE].median_s)),
            _fmt(row.scale(t[SUBJECT].median_s)) if has_tg else "-",
            f"{res.ratio(SUBJECT):.2f}" if has_tg else "-",
            target,
            _fmt(row.scale(t["numpy"].median_s)) if has_np else "-",
            f"{res.ratio('numpy'):.2f}" if has_np else "-",
            _fmt(row.scale(floor_s)) if has_floor else "-",
            f"{t[SUBJECT].median_s / floor_s:.2f}" if has_floor and has_tg else "-",
            f"{t[REFERENCE].median_s / floor_s:.2f}" if has_floor else "-",
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
