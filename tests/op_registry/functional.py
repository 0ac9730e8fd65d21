"""Registry entries: ``tinygrad_edu.nn.functional`` against ``torch.nn.functional`` (same
signatures): linear, dropout (deterministic settings only), mse_loss, l1_loss, nll_loss,
cross_entropy (indices or probabilities, weight, ignore_index, label_smoothing, reduction),
binary_cross_entropy(_with_logits), softmax, log_softmax, embedding.

``tinygrad_edu.nn.functional`` is imported when an entry runs, so these entries fail on their own
(not the whole registry) while that module does not exist."""
import importlib

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .spec import Case, OpSpec, seeds, shapes, values

SPECS = []


class _OurF:
    """``tinygrad_edu.nn.functional``, imported on first use."""

    def __getattr__(self, name):
        return getattr(importlib.import_module("tinygrad_edu.nn.functional"), name)


F = _OurF()


def add(name, cases, fn_name, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="functional",
                        ours=lambda *a, **k: getattr(F, fn_name)(*a, **k),
                        ref=lambda *a, **k: getattr(TF, fn_name)(*a, **k), **kw))


_reductions = st.sampled_from(["mean", "sum", "none"])


# ---- linear -------------------------------------------------------------------------------------------
def _linear_cases(bias):
    def cases(mode):
        @st.composite
        def build(draw):
            lo = 0 if mode == "empty" else 1
            n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 3))
            batch = draw(st.sampled_from([(), (draw(st.integers(lo, 3)),), (2, draw(st.integers(lo, 2)))]))
            if mode == "empty" and 0 not in batch:
                batch = (0,)
            if mode == "smallest":
                batch, n_in, n_out = (), 1, 1
            rng = np.random.default_rng(draw(seeds()))
            arrays = (values(rng, batch + (n_in,)), values(rng, (n_out, n_in)))
            if bias:
                arrays += (values(rng, (n_out,)),)
            return Case(arrays)
        return build()
    return cases


add("F.linear", _linear_cases(True), "linear")
add("F.linear_no_bias", _linear_cases(False), "linear")

# ---- dropout: only the deterministic settings (p=0, or training=False) ----------------------------------
add("F.dropout_p0", lambda m: _simple(m, {"p": 0.0}), "dropout")
add("F.dropout_eval", lambda m: _simple(m, {"p": 0.5, "training": False}), "dropout")


def _simple(mode, kwargs, domain="real"):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape, domain),), dict(kwargs))
    return build()


# ---- regression losses ---------------------------------------------------------------------------------
def _pair_loss(domain_diff="real"):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            target = values(rng, shape)
            x = target + values(rng, shape, domain_diff)
            return Case((x, target), {"reduction": draw(_reductions)})
        return build()
    return cases


add("F.mse_loss", _pair_loss(), "mse_loss")
add("F.l1_loss", _pair_loss("kink"), "l1_loss")


# ---- classification losses ----------------------------------------------------------------------------
def _class_cases(log_probs=False, kind="indices", weight=False, ignore=False, smoothing=False,
                 domain="real", spatial=False):
    def cases(mode):
        @st.composite
        def build(draw):
            n = 0 if mode == "empty" else (1 if mode == "smallest" else draw(st.integers(1, 4)))
            c = draw(st.integers(2, 4))
            extra = (draw(st.integers(1, 2)),) if spatial else ()
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, (n, c) + extra, domain)
            if log_probs:  # nll_loss takes log-probabilities
                x = x - np.log(np.exp(x).sum(1, keepdims=True))
            kwargs = {"reduction": draw(_reductions)}
            if kind == "indices":
                target = rng.integers(0, c, (n,) + extra).astype(np.int64)
                if ignore:
                    kwargs["ignore_index"] = 1
                    # keep at least one target that is not ignored (else 'mean' is 0/0 = nan)
                    if target.size:
                        target.reshape(-1)[0] = 0
            else:
                p = rng.uniform(0.1, 1, (n, c) + extra)
                target = p / p.sum(1, keepdims=True)
            arrays = (x, target)
            if weight:
                arrays += (rng.uniform(0.5, 2, (c,)),)
            if smoothing:
                kwargs["label_smoothing"] = draw(st.sampled_from([0.1, 0.3]))
            return Case(arrays, kwargs)
        return build()
    return cases


def _with_weight(fn_name):
    """(input, target, weight) -> F.<fn>(input, target, weight=weight, ...)."""
    return dict(ours=lambda x, t, w, **k: getattr(F, fn_name)(x, t, weight=w, **k),
                ref=lambda x, t, w, **k: getattr(TF, fn_name)(x, t, weight=w, **k))


def add_weighted(name, cases, fn_name, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, family="functional", **_with_weight(fn_name), **kw))


add("F.nll_loss", _class_cases(log_probs=True), "nll_loss")
add("F.nll_loss_spatial", _class_cases(log_probs=True, spatial=True), "nll_loss")
add("F.nll_loss_ignore_index", _class_cases(log_probs=True, ignore=True), "nll_loss")
add_weighted("F.nll_loss_weight", _class_cases(log_probs=True, weight=True), "nll_loss",
             no_grad_args=(2,))
add("F.cross_entropy_indices", _class_cases(), "cross_entropy")
add("F.cross_entropy_indices_spatial", _class_cases(spatial=True), "cross_entropy")
add("F.cross_entropy_ignore_index", _class_cases(ignore=True), "cross_entropy")
add("F.cross_entropy_label_smoothing", _class_cases(smoothing=True), "cross_entropy")
add_weighted("F.cross_entropy_weight", _class_cases(weight=True), "cross_entropy", no_grad_args=(2,))
add_weighted("F.cross_entropy_weight_ignore_smoothing",
             _class_cases(weight=True, ignore=True, smoothing=True), "cross_entropy", no_grad_args=(2,))
add("F.cross_entropy_probabilities", _class_cases(kind="probs"), "cross_entropy")
add("F.cross_entropy_probabilities_smoothing", _class_cases(kind="probs", smoothing=True),
    "cross_entropy")
add_weighted("F.cross_entropy_probabilities_weight", _class_cases(kind="probs", weight=True),
             "cross_entropy", no_grad_args=(2,))
# stability: logits of ±1e4 must give finite losses and gradients (forward/backward parity)
add("F.cross_entropy_huge_logits", _class_cases(domain="huge"), "cross_entropy",
    gradgrad=False, fwd_tol=(1e-3, 1e-4))


def _bce_cases(logits, weight=False, pos_weight=False, domain="real"):
    def cases(mode):
        @st.composite
        def build(draw):
            shape = draw(shapes(mode))
            rng = np.random.default_rng(draw(seeds()))
            x = values(rng, shape, domain if logits else "prob")
            target = values(rng, shape, "prob")
            if draw(st.booleans()):  # hard 0/1 labels too
                target = np.round(target)
            arrays = (x, target)
            kwargs = {"reduction": draw(_reductions)}
            if weight:
                arrays += (rng.uniform(0.5, 2, shape),)
            if pos_weight:
                kwargs_pw = rng.uniform(0.5, 2, shape[-1:] if shape else ())
                arrays += (kwargs_pw,)
            return Case(arrays, kwargs)
        return build()
    return cases


# torch cannot differentiate binary_cross_entropy with respect to its target: targets are constants
add("F.binary_cross_entropy", _bce_cases(False), "binary_cross_entropy", no_grad_args=(1,))
add_weighted("F.binary_cross_entropy_weight", _bce_cases(False, weight=True),
             "binary_cross_entropy", no_grad_args=(1, 2))
add("F.binary_cross_entropy_with_logits", _bce_cases(True), "binary_cross_entropy_with_logits")
add_weighted("F.binary_cross_entropy_with_logits_weight", _bce_cases(True, weight=True),
             "binary_cross_entropy_with_logits", no_grad_args=(2,))
SPECS.append(OpSpec(
    name="F.binary_cross_entropy_with_logits_pos_weight", family="functional",
    cases=_bce_cases(True, pos_weight=True), no_grad_args=(2,),
    ours=lambda x, t, pw, **k: F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, **k),
    ref=lambda x, t, pw, **k: TF.binary_cross_entropy_with_logits(x, t, pos_weight=pw, **k)))
add("F.binary_cross_entropy_with_logits_huge", _bce_cases(True, domain="huge"),
    "binary_cross_entropy_with_logits", gradgrad=False, fwd_tol=(1e-3, 1e-4))


# ---- softmax, log_softmax ---------------------------------------------------------------------------
def _softmax_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 1, 3))
        rng = np.random.default_rng(draw(seeds()))
        return Case((values(rng, shape),), {"dim": draw(st.integers(-len(shape), len(shape) - 1))})
    return build()


add("F.softmax", _softmax_cases, "softmax")
add("F.log_softmax", _softmax_cases, "log_softmax")


# ---- embedding: integer ids (duplicates: the backward scatter-adds) -----------------------------------
def _embedding_cases(mode):
    @st.composite
    def build(draw):
        n_emb, dim = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        ids_shape = draw(shapes(mode, 0, 2, max_numel=6))
        rng = np.random.default_rng(draw(seeds()))
        ids = rng.integers(0, n_emb, ids_shape).astype(np.int64)
        return Case((ids, values(rng, (n_emb, dim))))
    return build()


add("F.embedding", _embedding_cases, "embedding")


def _embedding_padding_cases(mode):
    @st.composite
    def build(draw):
        case = draw(_embedding_cases(mode))
        return Case(case.arrays, {"padding_idx": 0})
    return build()


# the padding row gets no gradient *by convention* (it is not the true derivative, so finite
# differences disagree on purpose): backward parity with torch checks the convention
add("F.embedding_padding_idx", _embedding_padding_cases, "embedding", gradcheck=False)

# the activations as F functions (same ops as tg.relu & co., reached through F)
add("F.relu", lambda m: _simple(m, {}, "kink"), "relu")
add("F.gelu_tanh", lambda m: _simple(m, {"approximate": "tanh"}), "gelu")
add("F.silu", lambda m: _simple(m, {}), "silu")
add("F.tanh", lambda m: _simple(m, {}), "tanh")
add("F.sigmoid", lambda m: _simple(m, {}), "sigmoid")
add("F.leaky_relu", lambda m: _simple(m, {"negative_slope": 0.1}, "kink"), "leaky_relu")
add("F.elu", lambda m: _simple(m, {"alpha": 0.7}, "kink"), "elu")
add("F.softplus", lambda m: _simple(m, {"beta": 1.5}), "softplus")


def _one_hot_cases(mode):
    @st.composite
    def build(draw):
        shape = draw(shapes(mode, 0, 2))
        rng = np.random.default_rng(draw(seeds()))
        c = draw(st.integers(1, 4))
        return Case((rng.integers(0, c, shape).astype(np.int64),), {"num_classes": c})
    return build()


add("F.one_hot", _one_hot_cases, "one_hot", has_grad=False)
