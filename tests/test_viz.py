"""``tinygrad_edu.viz.draw_graph``: DOT text for the graph behind a tensor, and its pictures."""
import os
import re
import stat
import sys

import pytest

import tinygrad_edu as tg
from tinygrad_edu.viz import build_graph, draw_graph, layers

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse_dot(dot):
    """{node id: label} and [(src, dst)] from the DOT text draw_graph writes."""
    nodes = {int(i): label.replace("\\n", "\n")
             for i, label in re.findall(r'^\s*n(\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)}
    edges = [(int(a), int(b)) for a, b in re.findall(r"^\s*n(\d+) -> n(\d+);", dot, re.M)]
    return nodes, edges


def diamond():
    """x → a = x*2 → exp(a), sin(a) → product → sum: a is used twice (the diamond)."""
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 2
    loss = (a.exp() * a.sin()).sum()
    return x, a, loss


def test_diamond_graph_dot_has_the_right_nodes_and_edges():
    x, a, loss = diamond()
    dot = draw_graph(loss, names={x: "x", loss: "loss"})
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    nodes, edges = parse_dot(dot)
    labels = sorted(label.split("\n")[0] for label in nodes.values())
    assert labels == sorted(["x", "MulBackward", "ExpBackward", "SinBackward", "MulBackward",
                             "SumBackward", "loss"])
    assert len(edges) == 7
    by_label = {}
    for i, label in nodes.items():
        by_label.setdefault(label.split("\n")[0], []).append(i)
    x_id, = by_label["x"]
    exp_id, = by_label["ExpBackward"]
    sin_id, = by_label["SinBackward"]
    first_mul = next(i for i in by_label["MulBackward"] if (x_id, i) in edges)
    # edges run input -> op: a's op feeds both branches of the diamond, which meet again
    assert (first_mul, exp_id) in edges and (first_mul, sin_id) in edges
    second_mul = next(i for i in by_label["MulBackward"] if i != first_mul)
    assert (exp_id, second_mul) in edges and (sin_id, second_mul) in edges
    assert nodes[x_id] == "x\n(3,)"
    assert nodes[by_label["loss"][0]] == "loss\n()"


def test_an_input_read_twice_by_one_op_gives_two_edges():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse_dot(draw_graph((x * x).sum()))
    leaf = next(i for i, label in nodes.items() if label == "(2,)")
    mul = next(i for i, label in nodes.items() if label == "MulBackward")
    assert edges.count((leaf, mul)) == 2


def test_constants_are_not_drawn_and_unnamed_leaves_show_their_shape():
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    c = tg.ones(2, 2)
    nodes, edges = parse_dot(draw_graph((w @ c + 1.0).sum()))
    assert sorted(nodes.values()) == sorted(["(2, 2)", "MatmulBackward", "AddBackward", "SumBackward",
                                             "output\n()"])
    assert len(edges) == 4


def test_named_intermediate_results_label_their_op():
    x, a, loss = diamond()
    nodes, _ = parse_dot(draw_graph(loss, names={a: "a"}))
    assert any(label == "MulBackward\n→ a" for label in nodes.values())


def test_show_saved_lists_saved_shapes_then_freed():
    x, a, loss = diamond()
    before, _ = parse_dot(draw_graph(loss, show_saved=True))
    assert "ExpBackward\nsaved: (3,)" in before.values()
    assert "SumBackward\nsaved: nothing" in before.values()
    loss.backward()
    after, _ = parse_dot(draw_graph(loss, show_saved=True))
    assert "ExpBackward\nsaved: freed" in after.values()


def test_a_leaf_alone_is_a_one_node_graph():
    w = tg.tensor([1.0], requires_grad=True)
    nodes, edges = parse_dot(draw_graph(w, names={w: "w"}))
    assert list(nodes.values()) == ["w\n(1,)"] and edges == []


def test_labels_are_escaped():
    w = tg.tensor([1.0], requires_grad=True)
    dot = draw_graph(w * 2, names={w: 'say "hi"'})
    assert 'say \\"hi\\"' in dot


def test_a_deep_graph_is_walked_without_recursion():
    x = tg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    graph = build_graph(y)
    assert len(graph.nodes) == 5002 and len(graph.edges) == 5001
    layer, _, _ = layers(graph)
    assert max(layer) == 5001


def test_not_a_tensor_raises():
    with pytest.raises(TypeError, match="draw_graph: expected a Tensor"):
        draw_graph([1.0, 2.0])


def test_layers_put_every_node_right_of_its_inputs():
    x, a, loss = diamond()
    graph = build_graph(loss)
    layer, _, _ = layers(graph)
    assert all(layer[src] < layer[dst] for src, dst in graph.edges)
    assert sorted(layer) == [0, 1, 2, 2, 3, 4, 5]


def test_matplotlib_renders_a_png_when_dot_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no Graphviz 'dot' can be found
    x, a, loss = diamond()
    target = tmp_path / "figures" / "diamond"          # no extension: '.png' is added
    dot = draw_graph(loss, target, names={x: "x", loss: "loss"})
    png = tmp_path / "figures" / "diamond.png"
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert png.stat().st_size > 5_000
    assert dot.startswith("digraph")


def test_graphviz_dot_is_used_when_it_is_on_the_path(tmp_path, monkeypatch):
    # a stand-in 'dot' that records its arguments and the DOT text it was given
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "dot"
    fake.write_text(f"#!{sys.executable}\n"
                    "import sys\n"
                    "out = sys.argv[sys.argv.index('-o') + 1]\n"
                    "open(out, 'wb').write(b'FAKE ' + ' '.join(sys.argv[1:]).encode() + b'\\n'"
                    " + sys.stdin.buffer.read())\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_dir) + os.pathsep + os.environ.get("PATH", ""))
    x, a, loss = diamond()
    out = tmp_path / "g.svg"
    dot = draw_graph(loss, out, fmt="svg")
    written = out.read_bytes()
    assert written.startswith(b"FAKE -Tsvg -o " + str(out).encode())
    assert written.endswith(dot.encode())
