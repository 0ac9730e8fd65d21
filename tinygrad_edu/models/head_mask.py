"""Head masks for the Transformer models (BERT and GPT): Hugging Face's ``head_mask``.

A head mask ξ gives every attention head a gate: head h of layer l contributes ξ[l, h] times its
output (1.0 keeps it, 0.0 removes it).  Masking heads one at a time and watching the loss measures how
much the model needs each one (Michel, Levy & Neubig, 2019, "Are Sixteen Heads Really Better than
One?"; ``tinygrad_edu.explain.head_importance``).  A mask that requires grad keeps its graph, so
∂loss/∂ξ — the first-order estimate of every head's importance at once — comes out of one backward
pass.
"""
from ..backend import array_module
from ..tensor import Tensor


def layer_head_masks(who, head_mask, num_layers, num_heads, like):
    """``head_mask`` as one (1, heads, 1, 1) Tensor per layer in ``like``'s dtype and device (None
    stays None).  ``head_mask`` is (heads,) — the same gates in every layer — or (layers, heads)."""
    if head_mask is None:
        return None
    if isinstance(head_mask, Tensor):
        mask = head_mask if head_mask.dtype == like.dtype else head_mask.to(like.dtype)
    else:
        mask = Tensor._wrap(array_module(like.array).asarray(head_mask, dtype=like.dtype))
    if tuple(mask.shape) not in ((num_heads,), (num_layers, num_heads)):
        raise ValueError(f"{who}: head_mask has shape {tuple(mask.shape)}, expected ({num_heads},) (one "
                         f"entry per head, every layer) or ({num_layers}, {num_heads}) (layers, heads)")
    if mask.ndim == 1:
        return tuple(mask.reshape(1, num_heads, 1, 1) for _ in range(num_layers))
    return tuple(mask[i].reshape(1, num_heads, 1, 1) for i in range(num_layers))
