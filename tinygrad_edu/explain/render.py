"""Showing an attribution: a heatmap over an image, highlighted tokens in HTML or in a terminal, and
the list of the features that mattered most.

An attribution has the shape of the input: one number per pixel and channel, or one per token.  To
be looked at it is reduced and coloured:

* **images**: the channels are summed (the contribution of a pixel is the sum of its colours'),
  giving an (H, W) map.  Signed methods (integrated gradients, DeepLift, occlusion) are drawn with a
  diverging palette centred on 0 — red raises the explained score, blue lowers it — and scaled by the
  largest magnitude, so the colour of 0 never moves.  Unsigned maps (saliency's |gradient|, Grad-CAM
  after its ReLU) go from transparent to red.  The map is drawn over the picture in grey, so one sees
  *where* in the digit the evidence is.
* **tokens**: one score per word piece, same colours as background behind each token.
* **top features**: the ``k`` largest scores by magnitude, with their sign.

Everything here works on NumPy arrays and returns or writes files; nothing depends on the method.
"""
import html
import os

import numpy as np

from ..backend import to_device


def to_numpy(values):
    """A NumPy array from a Tensor, a CuPy array or anything array-like."""
    array = getattr(values, "array", values)
    if hasattr(array, "shape"):
        array = to_device(array, "cpu")           # a CuPy array → host memory
    return np.asarray(array)


def image_map(attribution):
    """One number per pixel: (C, H, W) or (1, C, H, W) summed over the channels → (H, W)."""
    a = to_numpy(attribution).astype(np.float64)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        a = a.sum(axis=0)
    if a.ndim != 2:
        raise ValueError(f"image_map: expected an attribution of shape (C, H, W) or (H, W), got {a.shape}")
    return a


def signed(values):
    """Whether a map has both signs worth showing (else it is drawn as unsigned)."""
    v = to_numpy(values)
    return bool(v.size) and v.min() < 0 < v.max()


def top_features(scores, names, k=5):
    """The ``k`` entries of ``scores`` largest in magnitude: ``[(name, score), ...]``, largest first
    (ties in the order given)."""
    s = to_numpy(scores).reshape(-1)
    if len(names) != s.size:
        raise ValueError(f"top_features: {s.size} scores for {len(names)} names")
    order = np.argsort(-np.abs(s), kind="stable")[:k]
    return [(names[i], float(s[i])) for i in order]


def pixel_names(height, width):
    """``"(row, col)"`` for every pixel, row-major, to go with a flattened (H, W) map."""
    return [f"(row {r}, col {c})" for r in range(height) for c in range(width)]


def save_heatmap(image_hwc, attribution, path, title=""):
    """Write a PNG: the picture on the left, the map over it on the right.

    ``image_hwc`` holds raw pixels (H, W, C) in 0..255; ``attribution`` is (C, H, W) or (H, W) at the
    same or a lower resolution (Grad-CAM maps are upsampled by the caller)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    pixels = to_numpy(image_hwc).astype(np.float64) / 255.0
    grey = pixels.mean(axis=-1)
    heat = image_map(attribution)
    scale = float(np.abs(heat).max()) or 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 3.4))
    left.imshow(pixels if pixels.shape[-1] == 3 else grey, cmap=None if pixels.shape[-1] == 3 else "gray",
                vmin=0, vmax=1)
    left.set_title("input")
    right.imshow(grey, cmap="gray", vmin=0, vmax=1)
    if signed(heat):
        shown = right.imshow(heat, cmap="bwr", vmin=-scale, vmax=scale, alpha=0.6,
                             extent=(-0.5, grey.shape[1] - 0.5, grey.shape[0] - 0.5, -0.5))
    else:
        shown = right.imshow(np.abs(heat), cmap="Reds", vmin=0, vmax=scale, alpha=0.6,
                             extent=(-0.5, grey.shape[1] - 0.5, grey.shape[0] - 0.5, -0.5))
    right.set_title("attribution")
    fig.colorbar(shown, ax=right, fraction=0.046, pad=0.04)
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return path


def save_figure(fig, path, dpi=100):
    """Write a figure as PNG atomically (a temporary file, then a rename): a reader never sees half a
    PNG."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp")
    fig.savefig(tmp, format="png", dpi=dpi)
    os.replace(tmp, path)
    return path


def _colour(score, scale):
    """An RGBA background for one token: red for positive, blue for negative, alpha by magnitude."""
    strength = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
    rgb = "220, 40, 40" if score >= 0 else "40, 90, 220"
    return f"rgba({rgb}, {0.85 * strength:.3f})"


def tokens_html(rows, title="", note=""):
    """An HTML page: one line of highlighted tokens per row.

    ``rows`` is a list of ``(caption, tokens, scores)``; each token gets a background whose colour
    says the sign of its score and whose strength says its size relative to the row's largest, and a
    tooltip with the number."""
    parts = ["<!DOCTYPE html>", "<html><head><meta charset='utf-8'>",
             f"<title>{html.escape(title)}</title>",
             "<style>body{font-family:sans-serif;margin:2em;} .tok{padding:2px 3px;margin:1px;"
             "border-radius:3px;display:inline-block;font-family:monospace;} .row{margin:1em 0;}"
             ".cap{color:#444;font-size:90%;}</style></head><body>",
             f"<h2>{html.escape(title)}</h2>"]
    if note:
        parts.append(f"<p>{html.escape(note)}</p>")
    for caption, tokens, scores in rows:
        s = to_numpy(scores).reshape(-1)
        scale = float(np.abs(s).max()) if s.size else 0.0
        spans = "".join(f"<span class='tok' style='background:{_colour(float(v), scale)}' "
                        f"title='{float(v):+.4g}'>{html.escape(t)}</span>" for t, v in zip(tokens, s))
        parts.append(f"<div class='row'><div class='cap'>{html.escape(caption)}</div>{spans}</div>")
    parts.append("<p class='cap'>red: raises the explained score; blue: lowers it; strength: size "
                 "relative to the largest in its row (hover for the value).</p></body></html>")
    return "\n".join(parts)


def write_text(path, text):
    """Write ``text`` atomically (a temporary file, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def tokens_terminal(tokens, scores, colour=True):
    """One line for a terminal: tokens on coloured backgrounds (24-bit ANSI colours), or, without
    colour, each token followed by its score in brackets: ``great[+0.41]``."""
    s = to_numpy(scores).reshape(-1)
    scale = float(np.abs(s).max()) if s.size else 0.0
    out = []
    for t, v in zip(tokens, s):
        if not colour:
            out.append(f"{t}[{float(v):+.2f}]")
            continue
        strength = min(abs(float(v)) / scale, 1.0) if scale > 0 else 0.0
        fade = int(255 - 200 * strength)
        r, g, b = (255, fade, fade) if v >= 0 else (fade, fade, 255)
        out.append(f"\x1b[48;2;{r};{g};{b}m\x1b[38;2;0;0;0m{t}\x1b[0m")
    return " ".join(out)
