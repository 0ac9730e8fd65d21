"""Drawing the computational graph: what ``backward()`` will walk.

``draw_graph(loss)`` starts at ``loss.grad_fn`` and follows every node's ``parents`` back to the
leaves, collecting

* **op nodes** — one per recorded op, named as PyTorch names them (``MulBackward``, ``SumBackward``);
* **leaf nodes** — the tensors you created with ``requires_grad=True`` (the weights), with their
  shape, and their name if you pass ``names={w: "w"}``;
* **the output** — the tensor you asked about;

and one edge *input → op* for every input an op read (an input read twice gives two edges: that
is where gradients will be added together).  The result is DOT text, the graph language of
Graphviz, which ``draw_graph`` returns.  Given a ``path`` it also renders a picture: with the
Graphviz ``dot`` program when it is installed, otherwise with matplotlib and a simple layered
layout (every node one column to the right of its furthest input).

    import tinygrad_edu as tg
    from tinygrad_edu.viz import draw_graph
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 2
    loss = (a.exp() * a.sin()).sum()
    print(draw_graph(loss, names={x: "x", loss: "loss"}))
    draw_graph(loss, "graph.png", names={x: "x", loss: "loss"})
"""
import os
import shutil
import subprocess

from .autograd.function import Function
from .tensor import Tensor

LEAF_COLOR = "lightblue"
OP_COLOR = "lightgrey"
OUTPUT_COLOR = "darkolivegreen1"


class Graph:
    """The graph as plain lists: ``nodes[i] = (kind, label)``, ``edges = [(src, dst), ...]``,
    kind one of "leaf", "op", "output"."""

    def __init__(self):
        self.nodes = []
        self.edges = []

    def add(self, kind, label):
        self.nodes.append((kind, label))
        return len(self.nodes) - 1


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _saved_text(node):
    """What an op node holds for its backward: shapes of the saved values, or 'freed'."""
    if node._freed:
        return "saved: freed"
    saved = node._saved or ()
    if not saved:
        return "saved: nothing"
    parts = []
    for item in saved:
        array = item.array
        parts.append(_shape_text(array.shape) if hasattr(array, "shape") else repr(array))
    return "saved: " + " ".join(parts)


def build_graph(t, names=None, show_saved=False):
    """Walk back from ``t`` (iteratively: deep graphs are fine) and return a ``Graph``."""
    if not isinstance(t, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(t).__name__}")
    given = dict(names or {})
    names = {id(k): v for k, v in given.items()}  # by identity: Tensor == is elementwise
    produced = {id(k.grad_fn): v for k, v in given.items()  # named intermediate results
                if isinstance(k, Tensor) and k.grad_fn is not None and k is not t}
    graph = Graph()
    ids = {}  # id(node or leaf) -> index in graph.nodes

    def label_of_leaf(leaf):
        name = names.get(id(leaf))
        shape = _shape_text(leaf.shape)
        return f"{name}\n{shape}" if name else shape

    def label_of_op(node):
        lines = [node.name()]
        if id(node) in produced:
            lines.append(f"→ {produced[id(node)]}")
        if show_saved:
            lines.append(_saved_text(node))
        return "\n".join(lines)

    out_label = names.get(id(t), "output") + "\n" + _shape_text(t.shape)
    if t.grad_fn is None:  # a leaf (or a constant): a one-node graph
        graph.add("leaf" if t.requires_grad else "output", label_of_leaf(t) if id(t) in names
                  else out_label)
        return graph
    output = graph.add("output", out_label)
    root = t.grad_fn
    ids[id(root)] = graph.add("op", label_of_op(root))
    graph.edges.append((ids[id(root)], output))
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if parent is None:  # a constant input: no gradient flows there
                continue
            if id(parent) not in ids:
                if isinstance(parent, Function):
                    ids[id(parent)] = graph.add("op", label_of_op(parent))
                    stack.append(parent)
                else:
                    ids[id(parent)] = graph.add("leaf", label_of_leaf(parent))
            graph.edges.append((ids[id(parent)], ids[id(node)]))
    return graph


def to_dot(graph):
    """The DOT text of ``graph`` (inputs on the left, the output on the right)."""
    style = {"leaf": f'shape=box, style="filled", fillcolor="{LEAF_COLOR}"',
             "op": f'shape=box, style="rounded,filled", fillcolor="{OP_COLOR}"',
             "output": f'shape=box, style="filled", fillcolor="{OUTPUT_COLOR}"'}
    lines = ["digraph computational_graph {",
             "  rankdir=LR;",
             '  node [fontname="Helvetica", fontsize=11];']
    for i, (kind, label) in enumerate(graph.nodes):
        text = label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        lines.append(f'  n{i} [label="{text}", {style[kind]}];')
    for src, dst in graph.edges:
        lines.append(f"  n{src} -> n{dst};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def layers(graph):
    """Longest-path layering: a node's layer is 1 + the largest layer among its inputs (leaves
    are layer 0), computed in topological order (Kahn's algorithm, no recursion).  Then every
    node except the output moves right until it sits one layer before its nearest consumer, so a
    leaf is drawn next to the op that reads it rather than far away in column 0."""
    n = len(graph.nodes)
    inputs = [[] for _ in range(n)]
    consumers = [[] for _ in range(n)]
    for src, dst in graph.edges:
        inputs[dst].append(src)
        consumers[src].append(dst)
    waiting = [len(set(ins)) for ins in inputs]
    layer = [0] * n
    ready = [i for i in range(n) if waiting[i] == 0]
    order = []
    while ready:
        i = ready.pop()
        order.append(i)
        for j in set(consumers[i]):
            layer[j] = max(layer[j], layer[i] + 1)
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
    for i in reversed(order):
        if consumers[i]:
            layer[i] = min(layer[c] for c in consumers[i]) - 1
    return layer, inputs, consumers


def _rows(layer, inputs, consumers):
    """A vertical position for every node: each column sorted by the mean row of the nodes it is
    connected to (the barycenter heuristic), swept left to right, right to left, left to right."""
    columns = {}
    for i, k in enumerate(layer):
        columns.setdefault(k, []).append(i)
    row = {i: 0.0 for i in range(len(layer))}

    def sweep(keys, neighbours):
        for k in keys:
            members = columns[k]
            members.sort(key=lambda i: (sum(row[j] for j in neighbours[i]) / len(neighbours[i])
                                        if neighbours[i] else row[i], i))
            for r, i in enumerate(members):
                row[i] = r - (len(members) - 1) / 2

    sweep(sorted(columns), inputs)
    sweep(sorted(columns, reverse=True), consumers)
    sweep(sorted(columns), inputs)
    return row, columns


def _render_matplotlib(graph, path, fmt):
    """Draw ``graph`` with matplotlib: one column per layer, boxes for nodes, arrows for edges."""
    import matplotlib
    if "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")  # rendering to a file needs no window
    import matplotlib.pyplot as plt

    layer, inputs, consumers = layers(graph)
    row, columns = _rows(layer, inputs, consumers)
    n_cols = max(columns) + 1
    n_rows = max(len(m) for m in columns.values())
    fig, ax = plt.subplots(figsize=(max(3.0, 2.2 * n_cols), max(1.6, 0.95 * n_rows + 0.4)))
    ax.set_xlim(-0.6, n_cols - 0.4)
    ax.set_ylim(-(n_rows / 2) - 0.1, n_rows / 2 + 0.1)
    ax.axis("off")
    colors = {"leaf": LEAF_COLOR, "op": OP_COLOR, "output": "#caff70"}
    boxes = {}
    for i, (kind, label) in enumerate(graph.nodes):
        boxstyle = "round,pad=0.4" if kind == "op" else "square,pad=0.4"
        boxes[i] = ax.text(layer[i], -row[i], label, ha="center", va="center", fontsize=9,
                           family="sans-serif", zorder=3,
                           bbox=dict(boxstyle=boxstyle, facecolor=colors[kind], edgecolor="0.25"))
    for src, dst in graph.edges:
        span = layer[dst] - layer[src]
        bend = 0.0 if span <= 1 else (0.3 if row[src] >= row[dst] else -0.3)  # arc around boxes
        ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[dst], xytext=(1.0, 0.5), textcoords=boxes[src],
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.0, shrinkA=5, shrinkB=5,
                                    connectionstyle=f"arc3,rad={bend}"), zorder=2)
    fig.savefig(path, format=fmt, bbox_inches="tight", dpi=120)
    plt.close(fig)


def draw_graph(t, path=None, fmt="png", show_saved=False, names=None):
    """Return the DOT text of the graph behind ``t``; with ``path``, also render it to a file.

    ``names``: a dict {tensor: "name"} labelling leaves (and the output).  ``show_saved``: list
    under each op the shapes of the values it saved for backward (or "freed" after backward).
    Rendering uses Graphviz's ``dot`` when it is on the PATH, else matplotlib.  If ``path`` has no
    extension, ``.fmt`` is added.  Returns the DOT text either way.
    """
    graph = build_graph(t, names=names, show_saved=show_saved)
    dot = to_dot(graph)
    if path is not None:
        path = os.fspath(path)
        if not os.path.splitext(path)[1]:
            path = f"{path}.{fmt}"
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        dot_program = shutil.which("dot")
        if dot_program:
            subprocess.run([dot_program, f"-T{fmt}", "-o", path], input=dot.encode(), check=True,
                           capture_output=True)
        else:
            _render_matplotlib(graph, path, fmt)
    return dot


def show(path):
    """Show a saved picture inline in a notebook; print where it is either way (the tutorials' helper)."""
    print(f"picture saved to {path}")
    try:
        get_ipython  # noqa: F821  (defined only inside IPython / Jupyter)
    except NameError:
        return
    from IPython.display import Image, display
    display(Image(filename=str(path)))
