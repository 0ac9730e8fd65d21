"""Registry entries for ``tinygrad_edu/nn/attention.py``: ``F.scaled_dot_product_attention`` against
``torch.nn.functional``'s, without dropout (dropout is random: ``tests/test_attention.py`` checks it
by its statistics and mask consistency).

Variants: plain, ``is_causal`` (top-left aligned when L != S), a bool mask (True = may attend; rows with
every key masked included: both libraries give weights 0 there), a float mask (added to the scores; its
gradient is checked too), an explicit ``scale``, L != S and Ev != E, 2-D inputs, a batch dim, batch and
head dims, batch dims that broadcast between query and key/value, and grouped-query attention
(``enable_gqa``: fewer key/value heads than query heads), plain and causal.

Shapes stay small: gradgradcheck perturbs every entry of q, k, v (and the mask) and of the output
gradient."""
import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, lib_call
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="attention", **kw))


def _batch_dims(draw, mode, batch):
    """Leading dims of (q, k/v): none, (B,), (B, H), or broadcasting (B, 1) with (1, H)."""
    if batch == "none" or mode == "smallest":
        return (), ()
    b = 0 if mode == "empty" else draw(st.integers(1, 2))
    if batch == "batch":
        return (b,), (b,)
    h = draw(st.integers(1, 2))
    if batch == "heads":
        return (b, h), (b, h)
    return (b, 1), (1, h)         # "broadcast"


def _sdpa_cases(mask=None, causal=False, scale=False, batch="none", lengths="any"):
    """(q, k, v[, mask]) and kwargs.  ``lengths``: "any" draws L and S independently, "differ" forces
    L != S.  The bool mask is True (may attend) with probability 0.7, so some rows are fully masked."""
    def cases(mode):
        @st.composite
        def build(draw):
            qb, kb = _batch_dims(draw, mode, batch)
            if mode == "smallest":
                L = S = E = Ev = 1
            else:
                top = 3 if mode == "small" else 4
                L = draw(st.integers(1, top))
                S = draw(st.integers(1, top))
                if lengths == "differ" and S == L:
                    S = L + 1
                E = draw(st.integers(1, 3))
                Ev = draw(st.integers(1, 3))
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, qb + (L, E)), values(rng, kb + (S, E)), values(rng, kb + (S, Ev)))
            scores_batch = np.broadcast_shapes(qb, kb)
            if mask == "bool":
                arrays += (rng.random(scores_batch + (L, S)) < 0.7,)
            elif mask == "float":
                mask_batch = scores_batch[-1:] if draw(st.booleans()) else scores_batch  # broadcast too
                arrays += (values(rng, mask_batch + (L, S)),)
            kwargs = {}
            if causal:
                kwargs["is_causal"] = True
            if scale:
                kwargs["scale"] = draw(st.sampled_from([0.25, 1.0, 2.5]))
            return Case(arrays, kwargs)
        return build()
    return cases


def _sdpa(with_mask):
    if with_mask:
        return dict(ours=lambda q, k, v, m, **kw: F.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw),
                    ref=lambda q, k, v, m, **kw: TF.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw))
    return dict(ours=lambda q, k, v, **kw: F.scaled_dot_product_attention(q, k, v, **kw),
                ref=lambda q, k, v, **kw: TF.scaled_dot_product_attention(q, k, v, **kw))


_TOL = dict(fwd_tol=(1e-5, 1e-4), bwd_tol=(1e-4, 1e-4))
add("F.scaled_dot_product_attention", _sdpa_cases(), **_sdpa(False), **_TOL)
add("F.scaled_dot_product_attention_batched", _sdpa_cases(batch="batch"), **_sdpa(False), **_TOL)
add("F.scaled_dot_product_attention_heads", _sdpa_cases(batch="heads", lengths="differ"), **_sdpa(False),
    **_TOL)
add("F.scaled_dot_product_attention_broadcast_batch", _sdpa_cases(batch="broadcast"), **_sdpa(False),
    **_TOL)
add("F.scaled_dot_product_attention_causal", _sdpa_cases(causal=True, batch="heads"), **_sdpa(False),
    **_TOL)
add("F.scaled_dot_product_attention_causal_l_ne_s", _sdpa_cases(causal=True, batch="batch",
                                                                 lengths="differ"), **_sdpa(False), **_TOL)
add("F.scaled_dot_product_attention_bool_mask", _sdpa_cases(mask="bool", batch="heads"), **_sdpa(True),
    **_TOL)
add("F.scaled_dot_product_attention_float_mask", _sdpa_cases(mask="float", batch="heads"), **_sdpa(True),
    **_TOL)
add("F.scaled_dot_product_attention_scale", _sdpa_cases(scale=True, batch="batch", lengths="differ"),
    **_sdpa(False), **_TOL)
add("F.scaled_dot_product_attention_causal_scale", _sdpa_cases(causal=True, scale=True), **_sdpa(False),
    **_TOL)


# ---- grouped-query attention ---------------------------------------------------------------------------
def _gqa_cases(causal):
    def cases(mode):
        @st.composite
        def build(draw):
            b = 0 if mode == "empty" else 1 if mode == "smallest" else draw(st.integers(1, 2))
            kv_heads = 1 if mode == "smallest" else draw(st.integers(1, 2))
            group = 1 if mode == "smallest" else draw(st.integers(1, 3))
            L, S, E, Ev = (1, 1, 1, 1) if mode == "smallest" else (draw(st.integers(1, 3)) for _ in range(4))
            rng = np.random.default_rng(draw(seeds()))
            q = values(rng, (b, kv_heads * group, L, E))
            k, v = values(rng, (b, kv_heads, S, E)), values(rng, (b, kv_heads, S, Ev))
            return Case((q, k, v), {"enable_gqa": True, "is_causal": causal})
        return build()
    return cases


def _sdpa(lib, q, k, v, **kw):
    return lib.scaled_dot_product_attention(q, k, v, **kw)


add("F.sdpa_gqa", _gqa_cases(False), **lib_call(_sdpa))
add("F.sdpa_gqa_causal", _gqa_cases(True), **lib_call(_sdpa))
