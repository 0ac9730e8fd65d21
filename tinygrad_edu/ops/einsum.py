"""einsum: sums of products named by index letters, e.g. ``einsum('ij,jk->ik', a, b)`` is a @ b.

Every letter is a loop index; letters in the output are kept, the others are summed over:

    out[kept] = Σ_{summed} Π_k operand_k[its letters]

A letter repeated within one operand reads its diagonal ('ii->i').  '...' stands for the
leading dims an operand has beyond its letters.  Without '->' the output is every letter used
exactly once, in alphabetical order (after the '...' dims).

Gradient: the output is linear in each operand, so dL/d operand_k is again an einsum, of the
gradient g with all the *other* operands, producing operand_k's letters:

    dL/d A[letters_A] = Σ g[out] · Π_{j≠k} operand_j[letters_j]

Letters only operand_k has (summed out right away) become a broadcast; a repeated letter puts the
gradient back on the diagonal (an einsum with an identity matrix).  All in Tensor ops.

Tests: tests/op_registry/einsum.py
"""
import string

import numpy as np

from ..autograd.function import Function
from ..backend import array_module


def _parse(equation, shapes):
    """Letters for each operand and the output, with '...' expanded into spare capital letters."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(terms)} operands, "
                         f"got {len(shapes)} tensors")
    spare = [c for c in string.ascii_uppercase if c not in eq]
    n_ell = 0
    for t, s in zip(terms, shapes):
        if "..." in t:
            n_ell = max(n_ell, len(s) - (len(t) - 3))
    ell = "".join(spare[:n_ell])
    out_terms = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - (len(t) - 3)
            t = t.replace("...", ell[n_ell - k:] if k else "")
        if len(t) != len(s) or not all(c.isalpha() for c in t):
            raise ValueError(f"einsum: subscripts {t!r} do not fit an operand of shape {tuple(s)}")
        out_terms.append(t)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        letters = "".join(out_terms)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    sizes = {}
    for t, s in zip(out_terms, shapes):
        for c, n in zip(t, s):
            if sizes.setdefault(c, n) != n:
                raise ValueError(f"einsum: letter {c!r} has size {sizes[c]} in one place and {n} in "
                                 f"another ({equation!r})")
    for c in out:
        if c not in sizes:
            raise ValueError(f"einsum: output letter {c!r} appears in no operand ({equation!r})")
    return out_terms, out, sizes


class _Einsum(Function):
    """out = einsum(spec, *operands) (letters already parsed).  Gradients: see the module docstring."""

    @staticmethod
    def forward(ctx, *arrays, terms=None, out=None, sizes=None):
        ctx.terms, ctx.out, ctx.sizes = terms, out, sizes
        ctx.save_for_backward(*arrays)
        spec = ",".join(terms) + "->" + out
        xp = array_module(arrays[0])
        if xp is np:
            return np.asarray(np.einsum(spec, *arrays, optimize=len(arrays) > 2))
        return xp.einsum(spec, *arrays)

    @staticmethod
    def backward(ctx, g):
        ops = ctx.saved_tensors
        grads = []
        for k, term in enumerate(ctx.terms):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(ctx.terms) if j != k]
            seen = set(ctx.out).union(*others) if others else set(ctx.out)
            unique = "".join(dict.fromkeys(term))           # letters of A, each once
            kept = "".join(c for c in unique if c in seen)  # those the gradient depends on
            gk = einsum_letters([ctx.out] + others, kept, [g] + [o for j, o in enumerate(ops) if j != k],
                                ctx.sizes)
            # letters only A has: the gradient is the same along them (a broadcast)
            if kept != unique:
                shape = [ctx.sizes[c] if c in kept else 1 for c in unique]
                gk = gk.reshape([ctx.sizes[c] for c in kept])
                order = [kept.index(c) for c in unique if c in kept]
                gk = gk.permute(*order) if order != list(range(len(order))) else gk
                gk = gk.reshape(shape).expand(*[ctx.sizes[c] for c in unique])
            # repeated letters: put the gradient on the diagonal (einsum with identity matrices)
            if unique != term:
                fresh = [c for c in string.ascii_letters if c not in "".join(ctx.terms) + ctx.out]
                target, eyes, eye_terms = "", [], []
                for c in term:
                    if c in target:
                        new = fresh.pop(0)
                        eye = array_module(g.array).eye(ctx.sizes[c], dtype=g.array.dtype)
                        eyes.append(Tensor._wrap(eye))
                        eye_terms.append(c + new)
                        target += new
                    else:
                        target += c
                gk = einsum_letters([unique] + eye_terms, target, [gk] + eyes, ctx.sizes)
            grads.append(gk)
        return tuple(grads)


def einsum_letters(terms, out, tensors, sizes):
    return _Einsum.apply(*tensors, terms=list(terms), out=out, sizes=sizes)


def einsum(equation, *operands):
    """``torch.einsum(equation, *operands)`` (operands may also be given as one list)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    terms, out, sizes = _parse(equation, [tuple(o.shape) for o in operands])
    return einsum_letters(terms, out, operands, sizes)


from ..tensor import Tensor  # noqa: E402
