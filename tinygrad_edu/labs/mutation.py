"""Mutation testing of a lab's tests: does every small change to the reference solution lose points?

A *mutant* is the reference with one small edit inside a solution region — the kind of slip a student
makes.  The tests *kill* it when at least one test of that region's task fails.  The mutation score is
killed / (mutants − equivalent ones), where an equivalent mutant computes the same thing (``x ** 2`` and
``x * x``): each is listed in the lab's ``bugs.EQUIVALENT_MUTANTS`` with the reason.

The edits (each applied to one place; Python's ``ast`` finds the places, and the edit replaces only that
expression's text, so the rest of the file stays as written):

=========================  ==================================================
arithmetic                 ``+`` ↔ ``-``, ``*`` ↔ ``/``, ``**`` → ``*``, ``//`` → ``/``
accumulation               ``a += b`` → ``a = b``, ``+=`` ↔ ``-=``
comparison                 ``<`` ↔ ``<=``, ``>`` ↔ ``>=``, ``==`` ↔ ``!=``, ``is`` ↔ ``is not``
numbers                    an integer ``k`` → ``k + 1``, a float ``f`` → ``f + 1``, ``True`` ↔ ``False``
sign                       ``-x`` → ``x``
statements                 a statement replaced by ``pass``
=========================  ==================================================
"""
import ast
from dataclasses import dataclass

from .markers import task_lines
from .planted import graded_file, load_equivalent_mutants
from .runner import run_tests
from .student import reference_source

SWAP_BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.Pow: ast.Mult,
              ast.FloorDiv: ast.Div}
SWAP_AUGOP = {ast.Add: ast.Sub, ast.Sub: ast.Add}
SWAP_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is}


@dataclass(frozen=True)
class Mutant:
    task: str
    line: int
    before: str
    after: str
    #: (start, end) character offsets of the replaced text in the reference
    span: tuple

    @property
    def name(self):
        return f"L{self.line} {self.before} -> {self.after}"

    def apply(self, source):
        return source[:self.span[0]] + self.after + source[self.span[1]:]


def _offsets(source):
    starts, total = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(total)
        total += len(line)
    return starts


def _span(node, starts):
    return (starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset)


def _variants(node):
    """The mutated copies of ``node`` (each as replacement source text, and whether it is a statement)."""
    if isinstance(node, ast.BinOp) and type(node.op) in SWAP_BINOP:
        yield f"({ast.unparse(ast.BinOp(node.left, SWAP_BINOP[type(node.op)](), node.right))})"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        yield f"({ast.unparse(node.operand)})"
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_COMPARE:
        swapped = ast.Compare(node.left, [SWAP_COMPARE[type(node.ops[0])]()], node.comparators)
        yield f"({ast.unparse(swapped)})"
    elif isinstance(node, ast.Constant) and isinstance(node.value, bool):
        yield repr(not node.value)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        yield repr(node.value + 1)
    if isinstance(node, ast.AugAssign):
        yield ast.unparse(ast.Assign([node.target], node.value, lineno=node.lineno))
        if type(node.op) in SWAP_AUGOP:
            yield ast.unparse(ast.AugAssign(node.target, SWAP_AUGOP[type(node.op)](), node.value))
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)) and \
            not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
        yield "pass" if not isinstance(node, ast.Return) else "return None"


def mutants(lab, source=None):
    """Every mutant of ``lab``'s reference, in source order."""
    source = reference_source(lab) if source is None else source
    lines_of = task_lines(source)
    task_at = {line: task for task, lines in lines_of.items() for line in lines}
    starts = _offsets(source)
    found = []
    for node in ast.walk(ast.parse(source)):
        if not hasattr(node, "lineno") or node.lineno not in task_at or node.end_lineno not in task_at:
            continue
        span = _span(node, starts)
        before = source[span[0]:span[1]]
        for after in _variants(node):
            if after.strip("()") != before:
                found.append(Mutant(task_at[node.lineno], node.lineno, before, after, span))
    found.sort(key=lambda mutant: (mutant.span, mutant.after))
    return found


@dataclass
class MutationReport:
    lab: object
    killed: list
    survived: list
    equivalent: list
    #: mutants that do not compile (e.g. ``pass`` as an expression): not counted
    invalid: list

    @property
    def score(self):
        counted = len(self.killed) + len(self.survived)
        return len(self.killed) / counted if counted else 1.0


def run_mutation(lab, limit=None, seed=0, every=1):
    """Grade every mutant (or every ``every``-th, or the first ``limit``) on its own task's tests, in this
    process."""
    source = reference_source(lab)
    equivalent_names = load_equivalent_mutants(lab)
    report = MutationReport(lab, [], [], [], [])
    for mutant in mutants(lab, source)[::every][:limit]:
        mutated = mutant.apply(source)
        try:
            compile(mutated, lab.student_file, "exec")
        except SyntaxError:
            report.invalid.append(mutant)
            continue
        if mutant.name in equivalent_names:
            report.equivalent.append(mutant)
            continue
        with graded_file(lab, mutated) as path:
            results = run_tests(lab, path, {mutant.task}, seed=seed, stop_at_first_failure=True)
        killed = any(result.status != "passed" for result in results)
        (report.killed if killed else report.survived).append(mutant)
    return report


def mutation_report(report, show_survivors=False):
    lab = report.lab
    counted = len(report.killed) + len(report.survived)
    lines = [f"lab {lab.number} ({lab.title}): mutation score {report.score:.1%} "
             f"({len(report.killed)} of {counted} killed; {len(report.equivalent)} equivalent, "
             f"{len(report.invalid)} not valid Python)"]
    by_task = {}
    for outcome, group in (("killed", report.killed), ("survived", report.survived)):
        for mutant in group:
            by_task.setdefault(mutant.task, {"killed": 0, "survived": 0})[outcome] += 1
    for task in lab.tasks:
        counts = by_task.get(task.name, {"killed": 0, "survived": 0})
        total = counts["killed"] + counts["survived"]
        if total:
            lines.append(f"  {task.name:<24} {counts['killed']}/{total} killed")
    if show_survivors or report.survived:
        for mutant in report.survived:
            lines.append(f"  survived [{mutant.task}] {mutant.name}")
    return "\n".join(lines)
