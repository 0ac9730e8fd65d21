"""The ``attention_softmax`` kernel: the softmax step of scaled dot-product attention, forward and
backward (one kernel name; its tiers are namespaces with ``.forward`` and ``.backward``, as
``layer_norm``'s).

The math (rows over the last dim, one row per query; see ``tinygrad_edu/nn/attention.py``)::

    s_j  = scores_j · scale + bias_j         or -inf where key j is blocked (causal, bool mask)
    m    = max_j s_j                         (a row with every key blocked: m = 0, and P = 0)
    P_j  = exp(s_j - m) / Σ_k exp(s_k - m)
    dS_j = P_j · (dP_j - Σ_k dP_k P_k)       the backward, given dP = dL/dP

The reference (``_attention_softmax_reference``) is NumPy's chain: scale, add the bias, ``where`` the
mask, max, subtract, exp, sum, divide — eight passes over the (…, L, S) scores, several of them
allocating new arrays.  Here the arithmetic is done in numba loops that visit one row at a time while it
sits in the L1 cache:

1. ``_scale_mask_shift`` (numba): scale, bias and mask each entry, find the row maximum, subtract it.
   A causal mask is not read at all (``j > i`` is computed), and the maximum of a causal row only
   looks at its first i+1 keys; a bias or bool mask is read through a small table of rows (BERT's
   (N, 1, 1, S) padding bias stays N rows), so the inner loop is contiguous and vectorised;
2. ``np.exp`` in place: NumPy's exp is AVX-512 SIMD, while numba would call the scalar libm ``exp``
   per entry (several times slower);
3. ``_normalise_rows`` (numba): row sum and division.

The backward is one numba pass per row (dot product, then ``P·(dP - dot)`` written over ``dP``)
instead of NumPy's product, sum, subtraction and product with their temporaries.  The sums use
``fastmath={"reassoc"}`` only, so LLVM may split them over SIMD lanes (as NumPy's pairwise sum does);
every other operation rounds as the reference does, and NaN/Inf keep their meaning (a NaN or +inf score
makes its row NaN, a row with every key blocked is 0 — what PyTorch gives).

Two lessons from making it fast: a running ``max`` over a row is one dependency chain that LLVM will not
vectorise without fast-math's "no NaN" (which would break the NaN rules), so ``_row_max`` keeps 8
independent maxima (the row's NaN check is a separate, vectorised comparison) — that alone took the
first pass from 4 ms to 1 ms at T = 256; and numba's default ``error_model="python"`` checks every
division for zero, which stops vectorisation (``error_model="numpy"`` here).

Measured on the op (float32, 1 thread, best of 7; the machine was shared, so ±30%):

=================================  ======================  =====================
scores (B, H, L, S)                forward (ref → fast)    backward (ref → fast)
=================================  ======================  =====================
GPT  12×4×64×64, causal            0.71 → 0.22 ms (3.1×)   0.26 → 0.046 ms (5.6×)
GPT  12×4×256×256, causal          8.4 → 3.5 ms (2.4×)     4.5 → 0.9 ms (5×)
BERT 16×12×64×64, (16,1,1,64) bias 2.8 → 1.24 ms (2.3×)    1.2 → 0.22 ms (5×)
=================================  ======================  =====================

The whole ``scaled_dot_product_attention`` forward + backward at the GPT shape (with its four batched
matrix products) went from 2.8 ms to 1.3 ms (PyTorch: 1.36 ms); at T = 256 from 43 ms to 33 ms.

The CuPy tier runs the same three steps in one CUDA block per row (``kernels/attention_softmax.cu``).
Cases the kernels do not cover (float16, more than 4 dims, a bias or mask that would enlarge the
scores by broadcasting, empty scores) go to the reference.
"""
import importlib.util
from types import SimpleNamespace

import numba
import numpy as np

from tinygrad_edu.backend import register_kernel
from tinygrad_edu.nn.attention import (ATTENTION_SOFTMAX_REFERENCE, _attention_softmax_backward_reference,
                                       _attention_softmax_reference, _causal_blocked)

_COMPILED = (np.dtype(np.float32), np.dtype(np.float64))


# ----------------------------------------------------------------------------- numba (CPU)
@numba.njit(cache=True)
def _row_max(row, n):
    """max(row[:n]) of a NaN-free row, n >= 1, with 8 independent running maxima: one running
    maximum waits ~4 cycles on each comparison, and LLVM does not vectorise a max reduction unless
    told that no NaN occurs (fast-math), so the 8 chains are spelled out."""
    t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = row[0]
    n8 = n - n % 8
    for j in range(0, n8, 8):
        t0 = max(t0, row[j])
        t1 = max(t1, row[j + 1])
        t2 = max(t2, row[j + 2])
        t3 = max(t3, row[j + 3])
        t4 = max(t4, row[j + 4])
        t5 = max(t5, row[j + 5])
        t6 = max(t6, row[j + 6])
        t7 = max(t7, row[j + 7])
    for j in range(n8, n):
        t0 = max(t0, row[j])
    return max(max(max(t0, t1), max(t2, t3)), max(max(t4, t5), max(t6, t7)))


@numba.njit(cache=True)
def _scale_mask_shift(s, scale, bias, bias_rows, blocked, blocked_rows, causal, zero, neg_inf):
    """In place over the 4-d scores ``s``: s·scale (+ bias), -inf where blocked, minus the row max
    (0 for a row that is all -inf; NaN for a row holding a NaN).

    ``bias`` / ``blocked`` are C-contiguous 2-d tables of rows (or None); row (a, b, i) of the scores
    uses table row ``a·rows[0] + b·rows[1] + i·rows[2]`` (0 strides where they broadcast).  ``causal``
    blocks j > i without reading a mask.  ``zero``, ``neg_inf``: scalars of the scores' dtype.

    Each row is a few simple loops rather than one loop with every test inside (a branch per entry
    on ``causal and j > i`` and a running boolean NaN flag keep LLVM from vectorising the loop): the
    keys a causal row may see (j ≤ i) are scaled, the rest set to -inf without being read, and the
    NaN test counts NaNs in an integer.  ``bias is None`` / ``blocked is None`` are resolved when
    numba compiles.  Measured (1 thread, float32): BERT's 16×12×64×64 scores with a (16, 1, 1, 64)
    bias 0.60 → 0.46 ms, GPT's causal 12×4×64×64 0.105 → 0.095 ms."""
    A, B, L, S = s.shape
    for a in range(A):
        for b in range(B):
            for i in range(L):
                row = s[a, b, i]
                if bias is not None:
                    bias_row = bias[a * bias_rows[0] + b * bias_rows[1] + i * bias_rows[2]]
                if blocked is not None:
                    blocked_row = blocked[a * blocked_rows[0] + b * blocked_rows[1] + i * blocked_rows[2]]
                seen = min(i + 1, S) if causal else S       # keys 0..seen-1 may be attended
                for j in range(seen):
                    x = row[j] * scale
                    if bias is not None:
                        x = x + bias_row[j]
                    if blocked is not None:
                        x = neg_inf if blocked_row[j] else x
                    row[j] = x
                for j in range(seen, S):
                    row[j] = neg_inf
                nans = 0
                for j in range(seen):
                    nans += row[j] != row[j]
                if nans:
                    top = zero * neg_inf                 # 0·(-inf): a NaN of the scores' dtype
                else:                                    # causal: keys after i are -inf anyway
                    top = _row_max(row, seen)
                    if top == neg_inf:                   # every key blocked: exp(-inf - 0) = 0
                        top = zero
                for j in range(S):
                    row[j] = row[j] - top


@numba.njit(cache=True, fastmath={"reassoc"}, error_model="numpy")
def _normalise_rows(e, zero):
    """Each row divided by its sum (``reassoc``: the sum may use SIMD lanes); a dead row (sum 0) is
    left as it is, all zeros."""
    R, S = e.shape
    for r in range(R):
        total = zero
        for j in range(S):
            total += e[r, j]
        if total == 0:
            continue
        for j in range(S):
            e[r, j] = e[r, j] / total


@numba.njit(cache=True, fastmath={"reassoc"})
def _softmax_backward_rows(p, dp, zero):
    """dp ← p·(dp − Σ dp·p) row by row (``reassoc`` for the dot product only)."""
    R, S = p.shape
    for r in range(R):
        dot = zero
        for j in range(S):
            dot += dp[r, j] * p[r, j]
        for j in range(S):
            dp[r, j] = p[r, j] * (dp[r, j] - dot)


_NO_ROWS = np.zeros(3, dtype=np.int64)


def _row_table(x, shape):
    """``x`` (broadcastable to the 4-d ``shape``) as a C-contiguous 2-d table of rows of length S,
    with the row strides of dims (a, b, i) into it (0 where x broadcasts).  Copies only when x is not
    contiguous or broadcasts along the last dim (a small array then)."""
    if x is None:
        return None, _NO_ROWS
    x4 = x.reshape((1,) * (4 - x.ndim) + x.shape)
    if x4.shape[-1] != shape[-1]:
        x4 = np.broadcast_to(x4, x4.shape[:-1] + (shape[-1],))
    table = np.ascontiguousarray(x4).reshape(-1, shape[-1])
    d0, d1, d2 = x4.shape[:3]
    rows = np.array([d1 * d2 if d0 > 1 else 0, d2 if d1 > 1 else 0, 1 if d2 > 1 else 0], dtype=np.int64)
    return table, rows


def _fits(scores, bias, blocked):
    """Does the numba tier cover these inputs?"""
    if scores.dtype not in _COMPILED or not 2 <= scores.ndim <= 4 or scores.size == 0 \
            or not scores.flags.c_contiguous or not scores.flags.writeable:
        return False
    for x, kind in ((bias, "f"), (blocked, "b")):
        if x is None:
            continue
        if not isinstance(x, np.ndarray) or x.dtype.kind != kind or (kind == "f" and x.dtype != scores.dtype):
            return False
        try:
            if np.broadcast_shapes(x.shape, scores.shape) != scores.shape:
                return False
        except ValueError:
            return False
    return True


def attention_softmax_numba(scores, scale, bias=None, blocked=None):
    """P = softmax(scores·scale + bias, masked) over the last dim, computed in ``scores`` (see the
    module docstring); what the numba tier does not cover goes to the reference."""
    if not _fits(scores, bias, blocked):
        return _attention_softmax_reference(scores, scale, bias, blocked)
    shape4 = (1,) * (4 - scores.ndim) + scores.shape
    causal = blocked is not None and not blocked.flags.writeable and blocked.shape == scores.shape[-2:] \
        and blocked is _causal_blocked(*scores.shape[-2:])     # is_causal's shared (cached) mask
    if causal:
        blocked = None
    bias_table, bias_rows = _row_table(bias, shape4)
    blocked_table, blocked_rows = _row_table(blocked, shape4)
    kind = scores.dtype.type
    _scale_mask_shift(scores.reshape(shape4), kind(scale), bias_table, bias_rows, blocked_table, blocked_rows,
                      causal, kind(0), kind(-np.inf))
    np.exp(scores, out=scores)
    _normalise_rows(scores.reshape(-1, scores.shape[-1]), kind(0))
    return scores


def attention_softmax_backward_numba(p, grad_p):
    """dS = P ⊙ (dP − rowsum(dP ⊙ P)), written over ``grad_p``."""
    if p.dtype not in _COMPILED or grad_p.dtype != p.dtype or p.shape != grad_p.shape or p.size == 0 \
            or not p.flags.c_contiguous or not grad_p.flags.c_contiguous or not grad_p.flags.writeable:
        return _attention_softmax_backward_reference(p, grad_p)
    _softmax_backward_rows(p.reshape(-1, p.shape[-1]), grad_p.reshape(-1, p.shape[-1]), p.dtype.type(0))
    return grad_p


# ----------------------------------------------------------------------------- CuPy (GPU)
_BLOCK = 128  # threads per row


def _strides_4d(shape, x, cupy):
    """The element strides of ``x`` broadcast to ``shape`` as 4 dims (0 where broadcast)."""
    view = cupy.broadcast_to(x, shape).reshape((1,) * (4 - len(shape)) + tuple(shape))
    return [st // view.itemsize for st in view.strides]


def attention_softmax_cupy(scores, scale, bias=None, blocked=None):
    """The forward on the GPU: one CUDA block per row (``attention_softmax.cu``), same steps as numba."""
    import cupy
    from tinygrad_edu.kernels.cuda_source import raw_kernel
    bias = None if bias is None else cupy.asarray(bias)
    blocked = None if blocked is None else cupy.asarray(blocked)
    if scores.dtype not in _COMPILED or not 2 <= scores.ndim <= 4 or scores.size == 0 \
            or not scores.flags.c_contiguous or (bias is not None and bias.dtype != scores.dtype) \
            or (blocked is not None and blocked.dtype != np.bool_) \
            or np.broadcast_shapes(scores.shape, *(x.shape for x in (bias, blocked) if x is not None)) \
            != scores.shape:
        return _attention_softmax_reference(scores, scale, bias, blocked)
    shape = scores.shape
    B, L, S = ((1,) * (4 - len(shape)) + shape)[1:]
    rows = scores.size // S
    dummy_f, dummy_b = cupy.zeros(1, scores.dtype), cupy.zeros(1, cupy.bool_)
    bias_arr = dummy_f if bias is None else bias
    bias_st = _strides_4d(shape, bias_arr, cupy) if bias is not None else [0, 0, 0, 0]
    block_arr = dummy_b if blocked is None else blocked
    block_st = _strides_4d(shape, block_arr, cupy) if blocked is not None else [0, 0, 0, 0]
    suffix = "float" if scores.dtype == np.float32 else "double"
    fn = raw_kernel("attention_softmax", f"attention_softmax_forward_{suffix}")
    fn((rows,), (_BLOCK,), (scores, np.int64(B), np.int64(L), np.int64(S), scores.dtype.type(scale),
                            bias_arr, np.int32(bias is not None), *[np.int64(x) for x in bias_st],
                            block_arr, np.int32(blocked is not None), *[np.int64(x) for x in block_st]))
    return scores


def attention_softmax_backward_cupy(p, grad_p):
    """The backward on the GPU, written over ``grad_p``: one CUDA block per row."""
    from tinygrad_edu.kernels.cuda_source import raw_kernel
    if p.dtype not in _COMPILED or grad_p.dtype != p.dtype or p.shape != grad_p.shape or p.size == 0 \
            or not p.flags.c_contiguous or not grad_p.flags.c_contiguous:
        return _attention_softmax_backward_reference(p, grad_p)
    S = p.shape[-1]
    suffix = "float" if p.dtype == np.float32 else "double"
    fn = raw_kernel("attention_softmax", f"attention_softmax_backward_{suffix}")
    fn((p.size // S,), (_BLOCK,), (p, grad_p, np.int64(S)))
    return grad_p


register_kernel("attention_softmax", "numpy", SimpleNamespace(forward=attention_softmax_numba,
                                                              backward=attention_softmax_backward_numba),
                tier="fast")
if importlib.util.find_spec("cupy") is not None:
    register_kernel("attention_softmax", "cupy", ATTENTION_SOFTMAX_REFERENCE, tier="reference")  # xp-generic
    register_kernel("attention_softmax", "cupy", SimpleNamespace(forward=attention_softmax_cupy,
                                                                 backward=attention_softmax_backward_cupy),
                    tier="fast")
