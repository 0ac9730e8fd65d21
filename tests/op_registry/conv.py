"""Registry entries for ``tinygrad_edu/nn/conv.py``: ``F.conv2d`` (stride, padding ints / pairs /
'same' / 'valid', dilation, groups, asymmetric kernels, with and without bias, unbatched), against
``torch.nn.functional.conv2d``.

Shapes stay small: gradcheck perturbs every input entry, and gradgradcheck every entry of the
inputs *and* of the output gradient."""
import warnings

import numpy as np
import torch.nn.functional as TF
from hypothesis import strategies as st

from .cases import F, batch
from .spec import Case, OpSpec, seeds, values

SPECS = []


def add(name, cases, ours, ref, **kw):
    SPECS.append(OpSpec(name=name, cases=cases, ours=ours, ref=ref, family="conv", **kw))


def _conv_cases(bias=True, padding="int", dilation=False, groups=False, asymmetric=False,
                unbatched=False):
    """Input (N, C, H, W), weight (O, C/G, kh, kw) [, bias (O,)] and kwargs; the image is always
    at least as large as the dilated kernel (invalid sizes have their own error tests)."""
    def cases(mode):
        @st.composite
        def build(draw):
            small = mode in ("small", "smallest")
            n = batch(draw, mode)
            g = draw(st.sampled_from([2, 3] if mode != "smallest" else [1])) if groups else 1
            c = g * (1 if small else draw(st.integers(1, 2)))
            o = g * (1 if small else draw(st.integers(1, 2)))
            if mode == "smallest":
                kernel, stride, dil = (1, 1), (1, 1), (1, 1)
            else:
                k_max = 2 if small else 3
                kernel = (draw(st.integers(1, k_max)), draw(st.integers(1, k_max)))
                if not asymmetric:
                    kernel = (kernel[0], kernel[0])
                stride = (draw(st.integers(1, 2)),) * 2 if padding != "same" else (1, 1)
                if asymmetric and padding != "same":
                    stride = (stride[0], draw(st.integers(1, 2)))
                dil = (draw(st.integers(1, 2)),) * 2 if dilation else (1, 1)
                if asymmetric and dilation:
                    dil = (dil[0], draw(st.integers(1, 2)))
            kwargs = {"stride": stride if asymmetric else stride[0],
                      "dilation": dil if asymmetric else dil[0]}
            if padding == "int":
                pad = draw(st.integers(0, 1)) if mode != "smallest" else 0
                kwargs["padding"] = pad
                pads = (pad, pad)
            elif padding == "pair":
                pads = (draw(st.integers(0, 2)), draw(st.integers(0, 1)))
                kwargs["padding"] = pads
            else:  # 'same' or 'valid'
                kwargs["padding"] = padding
                pads = (0, 0)
            if g > 1:
                kwargs["groups"] = g
            eff = [d * (k - 1) + 1 for d, k in zip(dil, kernel)]
            lo = [max(1, e - 2 * p) for e, p in zip(eff, pads)]
            extra = 0 if mode == "smallest" else (1 if small else 2)
            hw = [draw(st.integers(m, m + extra)) for m in lo]
            if mode == "smallest":
                c = o = g
                hw = [1, 1]
            rng = np.random.default_rng(draw(seeds()))
            x_shape = (c, *hw) if unbatched else (n, c, *hw)
            arrays = (values(rng, x_shape), values(rng, (o, c // g) + tuple(kernel)))
            if bias:
                arrays += (values(rng, (o,)),)
            return Case(arrays, kwargs)
        return build()
    return cases


def _torch_conv2d(*args, **kwargs):
    with warnings.catch_warnings():  # torch notes that it copies the input for an even 'same'
        warnings.filterwarnings("ignore", message="Using padding='same'")
        return TF.conv2d(*args, **kwargs)


def _conv(bias):
    if bias:
        return dict(ours=lambda x, w, b, **k: F.conv2d(x, w, b, **k),
                    ref=lambda x, w, b, **k: _torch_conv2d(x, w, b, **k))
    return dict(ours=lambda x, w, **k: F.conv2d(x, w, **k),
                ref=lambda x, w, **k: _torch_conv2d(x, w, **k))


_CONV_TOL = dict(fwd_tol=(1e-4, 1e-4), bwd_tol=(1e-4, 1e-4))
add("F.conv2d", _conv_cases(), **_conv(True), **_CONV_TOL)
add("F.conv2d_no_bias", _conv_cases(bias=False), **_conv(False), **_CONV_TOL)
add("F.conv2d_padding_pair", _conv_cases(padding="pair"), **_conv(True), **_CONV_TOL)
add("F.conv2d_padding_same", _conv_cases(padding="same", dilation=True, asymmetric=True),
    **_conv(True), **_CONV_TOL)
add("F.conv2d_padding_valid", _conv_cases(bias=False, padding="valid"), **_conv(False), **_CONV_TOL)
add("F.conv2d_dilation", _conv_cases(dilation=True), **_conv(True), **_CONV_TOL)
add("F.conv2d_groups", _conv_cases(groups=True), **_conv(True), **_CONV_TOL)
add("F.conv2d_asymmetric", _conv_cases(bias=False, padding="pair", dilation=True,
                                       asymmetric=True, groups=True), **_conv(False), **_CONV_TOL)
add("F.conv2d_unbatched", _conv_cases(unbatched=True), **_conv(True), edge_modes=("smallest",),
    **_CONV_TOL)
