"""Looking at a Transformer's attention: the maps, attention rollout, head importance, and export to
BertViz or a plain heatmap.

Every attention head h of layer l computes, for each query position i, a probability distribution
over the key positions j::

    A[l, h, i, :] = softmax_j( q_i · k_j / √d  +  mask_ij )        (rows sum to 1)

and its output at i is the mixture Σ_j A[l, h, i, j] · v_j.  ``attention_maps`` returns these A for
a tinygrad_edu BERT or GPT, ``attention_rollout`` chains them through the layers, ``head_importance``
measures how much the loss needs each head, ``bertviz_export`` / ``plot_attention`` draw them.

Attention weights are not an explanation by themselves
-----------------------------------------------------
It is tempting to read A[l, h, i, j] as "how much token j matters for the output at i".  It is not:

* attention says **where information was mixed**, not **what the output depends on**.  The value
  v_j that gets mixed can be small, or be cancelled by the output projection, the residual
  stream and the MLPs after it; a big weight on j can carry almost nothing, and after the first
  layer position j no longer holds "token j" but a mixture of everything.
* **different attention maps can give the same prediction**: Jain & Wallace (2019, "Attention is
  not Explanation") found, for many trained models, very different (even adversarially chosen)
  attention distributions that leave the output unchanged, and attention weights that correlate
  poorly with gradient- and leave-one-out importance.  Wiegreffe & Pinter (2019, "Attention is not
  not Explanation") answered that attention *can* be a useful, plausible view under some
  conditions — but it has to be tested, not assumed.

So use the maps to see how a model routes information, and ask what the output *depends on* with
a method that looks at the output: compare with a gradient method, e.g.
``LayerIntegratedGradients(forward, model.bert.embeddings)`` (integrated gradients through the
embeddings, one score per token) or ``IntegratedGradients``.  ``head_importance`` is also such a
test for heads: it removes a head and measures the change of the loss.

Every function runs under ``no_grad`` (except the gradient proxy of ``head_importance``) with the
model in eval mode (dropout off), and leaves the model as it found it (train/eval mode, parameters'
``.grad`` and ``requires_grad``).
"""
import html
import json

import numpy as np

from ..autograd import enable_grad, no_grad
from ..autograd.engine import grad as autograd_grad
from ..backend import array_module, to_device
from ..tensor import Tensor
from .core import preserved_state


# ------------------------------------------------------------------------------------------------
# which model, and how to run it
# ------------------------------------------------------------------------------------------------
def _kind(model, who):
    """The model's family, ``"bert"`` or ``"gpt"``; a clear TypeError for anything else."""
    from ..models.bert.pretrained import BertPreTrainedModel
    from ..models.gpt.model import GPT
    if isinstance(model, GPT):
        return "gpt"
    if isinstance(model, BertPreTrainedModel):
        return "bert"
    raise TypeError(f"{who}: model must be a tinygrad_edu BERT (models.bert) or GPT (models.gpt), got "
                    f"{type(model).__name__}")


def _shape(model, kind):
    """(layers, heads) of the model."""
    c = model.config
    return (c.n_layer, c.n_head) if kind == "gpt" else (c.num_hidden_layers, c.num_attention_heads)


def _check_gpt_mask(attention_mask, who):
    if attention_mask is not None:
        raise ValueError(f"{who}: a GPT takes no attention_mask (its causal mask is built in); got one of "
                         f"shape {tuple(np.shape(getattr(attention_mask, 'array', attention_mask)))}")


def _as_ids(input_ids):
    """Token ids as an integer array (the models accept Tensors, arrays and lists)."""
    array = input_ids.array if isinstance(input_ids, Tensor) else np.asarray(input_ids)
    return array


def _attentions(model, kind, input_ids, attention_mask, head_mask):
    """The per-layer attention probabilities (Tensors (N, heads, S, S)) of one forward pass."""
    if kind == "gpt":
        ids = input_ids if isinstance(input_ids, Tensor) else Tensor._wrap(_as_ids(input_ids))
        _, attentions = model.hidden_states(ids, head_mask=head_mask, output_attentions=True)
        return attentions
    return model(input_ids, attention_mask, output_attentions=True, head_mask=head_mask).attentions


def _loss(model, kind, input_ids, labels, attention_mask, head_mask, who):
    """The model's own loss (a scalar Tensor) for ``labels``, with ``head_mask``."""
    if kind == "gpt":
        ids = input_ids if isinstance(input_ids, Tensor) else Tensor._wrap(_as_ids(input_ids))
        return model(ids, targets=labels, head_mask=head_mask)[1]
    from ..models.bert.model import BertModel
    if isinstance(model, BertModel):
        raise TypeError(f"{who}: a bare BertModel has no loss; pass a model with a head and labels "
                        "(BertForSequenceClassification, BertForTokenClassification, BertForMaskedLM)")
    return model(input_ids, attention_mask, labels=labels, head_mask=head_mask).loss


def _host(array):
    """A NumPy copy of an array (CuPy arrays come to the host)."""
    return np.asarray(to_device(array, "cpu"))


def _array_of(value):
    return value.array if isinstance(value, Tensor) else value


# ------------------------------------------------------------------------------------------------
# the maps
# ------------------------------------------------------------------------------------------------
def attention_maps(model, input_ids, attention_mask=None, head_mask=None):
    """Every head's attention probabilities, stacked: an array (layers, N, heads, S, S).

    ``maps[l, n, h, i, j]`` is the weight query position i of example n puts on key position j in
    head h of layer l, ``softmax_j(q_i · k_j / √d + mask_ij)``: every row sums to 1 (0 where a
    ``head_mask`` removed the head).  For BERT, padding keys (``attention_mask == 0``) get weight 0;
    for a GPT the causal mask gives weight 0 to every j > i (the upper triangle).

    ``model``: a tinygrad_edu BERT (``BertModel`` or a ``BertFor…``; ``output_attentions=True``)
    or ``GPT`` (``hidden_states(…, output_attentions=True)``).  ``head_mask`` (optional): Hugging
    Face's, (heads,) or (layers, heads), multiplying each head's probabilities.  Runs under
    ``no_grad`` in eval mode; the model's mode is restored afterwards."""
    who = "attention_maps"
    kind = _kind(model, who)
    if kind == "gpt":
        _check_gpt_mask(attention_mask, who)
    with preserved_state(model), no_grad():
        model.eval()
        attentions = _attentions(model, kind, input_ids, attention_mask, head_mask)
    arrays = [a.array for a in attentions]
    return array_module(arrays[0]).stack(arrays)


def attention_rollout(maps, add_residual=True, discard_ratio=0.0, head_fusion="mean"):
    """Attention rollout (Abnar & Zuidema, 2020): how much each input token flows into each position
    of the last layer, following attention through every layer.  Returns (N, S, S).

    One layer's attention says how position i mixes the positions j of the layer *below*; to ask
    about the *input* tokens, chain the layers:

    1. fuse the heads: Ā_l = mean over h of A[l, h]  (``head_fusion="max"``/``"min"``: elementwise);
    2. optionally (``discard_ratio`` = r > 0) set the ⌊r·S⌋ smallest entries of each row to 0 (they
       are mostly noise, and they blur the product);
    3. the residual connection: each layer's output is its input plus the attention output, so half
       of what position i carries comes straight from position i itself:
       Â_l = 0.5 · Ā_l + 0.5 · I  (``add_residual=False`` skips this);
    4. renormalise every row to sum to 1:  Â_l[i, :] ← Â_l[i, :] / Σ_j Â_l[i, j];
    5. multiply through the layers, the last one on the left:
       rollout = Â_{L-1} · … · Â_1 · Â_0.

    ``rollout[n, i, j]`` is then the share of input token j in position i at the top (rows sum to 1).
    It treats the whole block as linear mixing by attention and ignores the values and MLPs —
    the same caveat as the maps themselves (see the module docstring).

    ``maps``: ``attention_maps``' array (layers, N, heads, S, S), or a list of per-layer (N, heads,
    S, S) arrays or Tensors (e.g. a BERT model's ``.attentions``)."""
    who = "attention_rollout"
    if isinstance(maps, (list, tuple)):
        if not maps:
            raise ValueError(f"{who}: maps is an empty list; expected one (N, heads, S, S) map per layer")
        layers = [_array_of(m) for m in maps]
        xp = array_module(layers[0])
        maps = xp.stack(layers)
    maps = _array_of(maps)
    xp = array_module(maps)
    if maps.ndim != 5 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"{who}: maps has shape {tuple(maps.shape)}, expected (layers, N, heads, S, S)")
    if not 0.0 <= discard_ratio < 1.0:
        raise ValueError(f"{who}: discard_ratio must be in [0, 1), got {discard_ratio!r}")
    fusions = {"mean": lambda a: a.mean(axis=2), "max": lambda a: a.max(axis=2),
               "min": lambda a: a.min(axis=2)}
    if head_fusion not in fusions:
        raise ValueError(f"{who}: head_fusion must be 'mean', 'max' or 'min', got {head_fusion!r}")
    fused = fusions[head_fusion](maps)                                 # (layers, N, S, S)
    S = maps.shape[-1]
    eye = xp.eye(S, dtype=maps.dtype)
    rollout = xp.broadcast_to(eye, fused.shape[1:]).copy()
    drop = int(discard_ratio * S)
    for a in fused:
        a = a.copy()
        if drop:                                                       # rank of each entry in its row
            rank = xp.argsort(xp.argsort(a, axis=-1, kind="stable"), axis=-1, kind="stable")
            a[rank < drop] = 0.0
        if add_residual:
            a = 0.5 * a + 0.5 * eye
        total = a.sum(axis=-1, keepdims=True)
        a = a / xp.where(total == 0, 1.0, total)                       # an all-zero row stays zero
        rollout = a @ rollout
    return rollout


# ------------------------------------------------------------------------------------------------
# head importance
# ------------------------------------------------------------------------------------------------
def head_importance(model, input_ids, labels, attention_mask=None, method="mask", normalize=False):
    """How much the loss needs each attention head: an array (layers, heads) (Michel, Levy & Neubig,
    2019, "Are Sixteen Heads Really Better than One?").

    Give every head a gate ξ[l, h] multiplying its attention probabilities (the models'
    ``head_mask``; ξ = 1 everywhere is the model as it is).  Then

    * ``method="mask"`` (ablation): importance[l, h] = L(ξ with ξ[l, h] = 0) − L(ξ = 1), the change
      of the model's loss on this batch when head h of layer l alone is removed.  Positive: the
      model is worse without it.  One forward pass per head (layers × heads + 1 of them).
    * ``method="gradient"`` (Michel et al.'s proxy): importance[l, h] = mean over examples x of
      |∂L(x)/∂ξ[l, h]| at ξ = 1.  By the chain rule ∂L/∂ξ_h = Σ_i ⟨Att_h(x)_i, ∂L/∂Att_h(x)_i⟩ (the
      head's output against the loss's gradient there), and by Taylor
      L(ξ_h = 0) − L(ξ_h = 1) ≈ −∂L/∂ξ_h: one backward pass per example estimates every head's
      ablation at once, to first order.  The absolute value counts a head that would lower the
      loss as important too (it matters, in either direction).

    ``labels``: what the model's loss takes (BERT: ``labels``; GPT: ``targets``).  ``normalize=True``
    divides each layer's scores by their ℓ2 norm (Michel et al. compare heads across layers so).
    The model is in eval mode while it runs, its state restored afterwards."""
    who = "head_importance"
    kind = _kind(model, who)
    if kind == "gpt":
        _check_gpt_mask(attention_mask, who)
    if method not in ("mask", "gradient"):
        raise ValueError(f"{who}: method must be 'mask' or 'gradient', got {method!r}")
    layers, heads = _shape(model, kind)
    with preserved_state(model):
        model.eval()
        if method == "mask":
            scores = _ablation_scores(model, kind, input_ids, labels, attention_mask, layers, heads, who)
        else:
            scores = _gradient_scores(model, kind, input_ids, labels, attention_mask, layers, heads, who)
    if normalize:
        norms = np.sqrt((scores ** 2).sum(axis=1, keepdims=True))
        scores = scores / np.where(norms == 0, 1.0, norms)
    return scores


def _ablation_scores(model, kind, input_ids, labels, attention_mask, layers, heads, who):
    with no_grad():
        base = float(_loss(model, kind, input_ids, labels, attention_mask, None, who).item())
        scores = np.zeros((layers, heads))
        for layer in range(layers):
            for head in range(heads):
                mask = np.ones((layers, heads))
                mask[layer, head] = 0.0
                masked = float(_loss(model, kind, input_ids, labels, attention_mask, mask, who).item())
                scores[layer, head] = masked - base
    return scores


def _example(value, i):
    """Example i of a batched argument (kept 2-D: rows i..i+1), None stays None."""
    if value is None:
        return None
    array = _array_of(value) if isinstance(value, Tensor) else np.asarray(value)
    return array[i:i + 1]


def _gradient_scores(model, kind, input_ids, labels, attention_mask, layers, heads, who):
    ids = _as_ids(input_ids)
    dtype = next(iter(model.parameters())).dtype
    xp = array_module(next(iter(model.parameters())).array)
    total = np.zeros((layers, heads))
    for i in range(ids.shape[0]):
        with enable_grad():
            xi = Tensor._wrap(xp.ones((layers, heads), dtype=dtype))
            xi.requires_grad = True
            loss = _loss(model, kind, _example(ids, i), _example(labels, i), _example(attention_mask, i),
                         xi, who)
            (g,) = autograd_grad(loss, [xi], allow_unused=True)
        total += np.abs(_host(g.array)) if g is not None else 0.0
    return total / ids.shape[0]


# ------------------------------------------------------------------------------------------------
# export and drawing
# ------------------------------------------------------------------------------------------------
def _tokens(tokenizer, ids, who):
    """Token strings for one sequence of ids: the tokenizer's ``convert_ids_to_tokens`` (WordPiece,
    Hugging Face) or ``decode`` of each id."""
    if hasattr(tokenizer, "convert_ids_to_tokens"):
        return [str(t) for t in tokenizer.convert_ids_to_tokens([int(i) for i in ids])]
    if hasattr(tokenizer, "decode"):
        return [tokenizer.decode([int(i)]) for i in ids]
    raise TypeError(f"{who}: tokenizer_or_tokens must be a list of token strings or a tokenizer with "
                    f"convert_ids_to_tokens or decode, got {type(tokenizer).__name__}")


def bertviz_export(model, tokenizer_or_tokens, input_ids, path=None, attention_mask=None, index=0):
    """The attention of example ``index`` in BertViz's format, as a JSON-serialisable dict (written to
    ``path`` as JSON when given)::

        {"tokens": [S strings], "attention": [layer][head][S][S] floats}

    With an ``attention_mask`` the padding positions are left out (their columns are 0 anyway, so
    the rows still sum to 1).  ``tokenizer_or_tokens``: the token strings of the example, or a
    tokenizer (``convert_ids_to_tokens`` or ``decode``) to make them from the ids.

    BertViz (``pip install bertviz``, in a notebook) takes one tensor (batch=1, heads, S, S) per
    layer and the tokens::

        import json, torch
        from bertviz import head_view, model_view
        data = json.load(open("attention.json"))
        attention = [torch.tensor(layer).unsqueeze(0) for layer in data["attention"]]
        head_view(attention, data["tokens"])          # or model_view(attention, data["tokens"])
    """
    who = "bertviz_export"
    ids = _host(_as_ids(input_ids))
    if ids.ndim != 2 or not 0 <= index < ids.shape[0]:
        raise ValueError(f"{who}: input_ids must be (N, S) and index in 0..N-1; got shape {tuple(ids.shape)} "
                         f"and index {index}")
    maps = _host(attention_maps(model, input_ids, attention_mask))[:, index]      # (layers, heads, S, S)
    keep = np.arange(ids.shape[1])
    if attention_mask is not None:
        mask = _array_of(attention_mask)
        keep = np.flatnonzero((_host(mask) if hasattr(mask, "shape") else np.asarray(mask))[index])
    maps = maps[:, :, keep][:, :, :, keep]
    if isinstance(tokenizer_or_tokens, (list, tuple)):
        tokens = _given_tokens(tokenizer_or_tokens, keep, ids.shape[1], who)
    else:
        tokens = _tokens(tokenizer_or_tokens, ids[index][keep], who)
    data = {"tokens": tokens, "attention": maps.astype(np.float64).tolist()}
    if path is not None:
        with open(path, "w") as f:
            json.dump(data, f)
    return data


def _given_tokens(tokens, keep, length, who):
    """A list of token strings: one per position (then the padding ones are dropped) or one per kept
    position."""
    tokens = [str(t) for t in tokens]
    if len(tokens) == length:
        return [tokens[k] for k in keep]
    if len(tokens) == len(keep):
        return tokens
    raise ValueError(f"{who}: {len(tokens)} tokens for a sequence of {length} positions "
                     f"({len(keep)} real ones); expected one per position")


def plot_attention(maps, tokens, layer, head, path, index=0):
    """Draw one head's attention map as a heatmap: rows = queries, columns = keys, darker = more
    weight.  ``path`` ending in ``.html`` writes a plain HTML table (no dependencies); anything
    else, a PNG through matplotlib's Agg canvas (no display needed).  Returns ``path``.

    ``maps``: ``attention_maps``' array (layers, N, heads, S, S) (example ``index`` is drawn) or
    ``bertviz_export``'s dict."""
    who = "plot_attention"
    if isinstance(maps, dict):
        grid = np.asarray(maps["attention"])[layer, head]
    else:
        array = _host(_array_of(maps))
        if array.ndim != 5:
            raise ValueError(f"{who}: maps has shape {tuple(array.shape)}, expected (layers, N, heads, S, S)")
        grid = array[layer, index, head]
    tokens = [str(t) for t in tokens]
    if len(tokens) != grid.shape[0]:
        raise ValueError(f"{who}: {len(tokens)} tokens for a {grid.shape[0]}×{grid.shape[1]} map; expected "
                         "one per position")
    if str(path).endswith(".html"):
        _write_html(grid, tokens, layer, head, path)
        return path
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    size = max(3.0, 0.35 * len(tokens) + 1.5)
    fig = Figure(figsize=(size + 1.0, size))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(grid, cmap="Blues", vmin=0.0, vmax=max(float(grid.max()), 1e-12))
    ax.set_xticks(range(len(tokens)))
    ax.set_xticklabels(tokens, rotation=90)
    ax.set_yticks(range(len(tokens)))
    ax.set_yticklabels(tokens)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    ax.set_title(f"layer {layer}, head {head}")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _write_html(grid, tokens, layer, head, path):
    top = max(float(grid.max()), 1e-12)
    cells = []
    header = "".join(f"<th>{html.escape(t)}</th>" for t in tokens)
    for i, t in enumerate(tokens):
        row = "".join(f'<td style="background: rgba(31, 119, 180, {grid[i, j] / top:.3f})" '
                      f'title="{grid[i, j]:.4f}">{grid[i, j]:.2f}</td>' for j in range(len(tokens)))
        cells.append(f"<tr><th>{html.escape(t)}</th>{row}</tr>")
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>layer {layer}, head {head}</title>"
            "</head><body>"
            f"<h3>layer {layer}, head {head}: rows = queries, columns = keys</h3>"
            f"<table style='border-collapse: collapse; font: 12px monospace'><tr><th></th>{header}</tr>"
            f"{''.join(cells)}</table></body></html>")
    with open(path, "w") as f:
        f.write(page)
