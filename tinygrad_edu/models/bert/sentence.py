"""Sentence embeddings from a ``BertModel``, the way sentence-transformers makes them: mean pooling
over the real tokens, then L2 normalisation (the all-MiniLM-L6-v2 pipeline).

The model is in ``model.py``; the attention-mask check is shared with ``layers.py``.
"""
from ...backend import array_module
from ...tensor import Tensor
from .layers import _mask_array


# =============================================================================================
# Sentence embeddings
# =============================================================================================
def mean_pooling(last_hidden_state, attention_mask):
    """The average of the real tokens' hidden states (padding excluded), one vector per sentence:

        e[n] = Σₛ m[n, s] · h[n, s, :] / max(Σₛ m[n, s], 1e-9)        (N, S, H), (N, S) → (N, H)

    It is how sentence-transformers pools all-MiniLM-L6-v2."""
    if attention_mask is None:
        return last_hidden_state.mean(dim=1)
    xp = array_module(last_hidden_state.array)
    mask = _mask_array("mean_pooling", attention_mask, last_hidden_state.shape[:2], xp)
    weights = mask.astype(last_hidden_state.dtype)
    counts = xp.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
    summed = (last_hidden_state * Tensor._wrap(weights[:, :, None])).sum(dim=1)
    return summed / Tensor._wrap(counts)


def l2_normalize(x, dim=-1, eps=1e-12):
    """x / max(‖x‖₂, eps) along ``dim`` (``torch.nn.functional.normalize``): unit vectors, so a
    dot product of two of them is their cosine similarity."""
    norm = (x * x).sum(dim=dim, keepdim=True).sqrt()
    return x / norm.clamp(min=eps)


def sentence_embeddings(model, input_ids, attention_mask, token_type_ids=None):
    """Unit-length sentence vectors from a ``BertModel``: mean pooling over the real tokens, then L2
    normalisation (the sentence-transformers pipeline of all-MiniLM-L6-v2)."""
    out = model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
    return l2_normalize(mean_pooling(out.last_hidden_state, attention_mask))
