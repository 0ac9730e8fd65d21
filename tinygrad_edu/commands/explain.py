"""``python -m tinygrad_edu explain RUN INPUT... --method M``: why a trained model decides what it decides.

    python -m tinygrad_edu explain runs/vgg_mnist digit.png --method ig       # a PNG heatmap per image
    python -m tinygrad_edu explain runs/vgg_mnist digit.png --method gradcam
    python -m tinygrad_edu explain runs/sst2 "A gorgeous, witty film." --method ig    # HTML + terminal
    python -m tinygrad_edu explain runs/conll2003 "Angela Merkel visited Paris ." --method occlusion

The model first predicts, as ``predict`` does; then the chosen method says which parts of the input
raised or lowered the score of the predicted class (or of ``--target``).

**Images** (image and MLP runs; PNG, JPEG or NPY files, read as ``predict`` reads them) — methods:

=============  ===============================================================================
ig             integrated gradients from a black image (the data set's zero after normalising:
               ``--baseline black``) or from the mean image (``--baseline mean``), ``--steps``
               Gauss–Legendre points; prints the completeness error Σ attributions − (F(x) − F(b))
saliency       |∂F/∂x|, the plain gradient's size
inputxgrad     x ⊙ ∂F/∂x
smoothgrad     saliency averaged over ``--samples`` noisy copies (noise 15 % of the input's range)
guided         guided backpropagation (ReLUs pass back only positive gradients)
deeplift       DeepLift's rescale rule from the same baseline as ``ig``
gradcam        Grad-CAM at the last convolution, upsampled to the image (convolutional models)
occlusion      the score drop when a ``--window`` square is replaced by the baseline
=============  ===============================================================================

Each image gets ``OUT/<file>_<method>.png`` (the input beside the map over it) and its ``--top``
pixels in the terminal.

**Sentences** (SST-2 runs) and **named entities** (CoNLL-2003, WNUT-17 runs) — methods ``ig``
(layer integrated gradients through BERT's embedding layer, from a sentence of [PAD] tokens between
[CLS] and [SEP]), ``occlusion`` (each word piece replaced by [MASK] in turn) and ``attention``
(attention rollout from the explained token: where information flowed, *not* what the prediction
depends on — compare it with ``ig``).  A sentiment run explains the predicted label of each sentence;
an NER run explains the tag of every word inside a predicted entity (or the word given by
``--word``).  Scores per word piece are printed with coloured backgrounds (``--color``) and written
to ``OUT/explanation_<method>.html``.

``OUT`` is ``--out``, by default ``RUN/explanations``.
"""
import os
import sys

from . import UsageError
from .checks import positive_int
from .evaluate import open_run

HELP = "explain a run's predictions: heatmaps over images, highlighted tokens for text"

IMAGE_METHODS = ("ig", "saliency", "inputxgrad", "smoothgrad", "guided", "deeplift", "gradcam", "occlusion")
TEXT_METHODS = ("ig", "occlusion", "attention")
METHODS = IMAGE_METHODS + tuple(m for m in TEXT_METHODS if m not in IMAGE_METHODS)


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN",
                        help="a run folder written by train or finetune (or its checkpoint)")
    parser.add_argument("inputs", metavar="INPUT", nargs="+",
                        help="image files (PNG, JPEG, NPY) for image runs; sentences, quoted, for text runs")
    parser.add_argument("--method", default="ig", choices=METHODS, metavar="M",
                        help=f"attribution method: {', '.join(IMAGE_METHODS)} for images; "
                             f"{', '.join(TEXT_METHODS)} for text (default ig)")
    parser.add_argument("--target", default=None, metavar="CLASS",
                        help="explain this class (its name or index) instead of the predicted one")
    parser.add_argument("--steps", type=positive_int, default=64, metavar="N",
                        help="integration points of ig (Gauss-Legendre; default 64)")
    parser.add_argument("--samples", type=positive_int, default=16, metavar="N",
                        help="noisy copies averaged by smoothgrad (default 16)")
    parser.add_argument("--window", type=positive_int, default=None, metavar="K",
                        help="side of the occluded square for images (default: a seventh of the image side)")
    parser.add_argument("--baseline", default="black", choices=("black", "mean"),
                        help="reference image of ig, deeplift and occlusion: all-zero after normalising "
                             "(black) or the data set's mean image (default black)")
    parser.add_argument("--word", type=positive_int, default=None, metavar="N",
                        help="NER runs: explain the tag of word N (1-based) instead of the entities' words")
    parser.add_argument("--top", type=positive_int, default=5, metavar="K",
                        help="how many of the most important features to print (default 5)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where to write the PNG / HTML files (default RUN/explanations)")
    parser.add_argument("--color", default="auto", choices=("auto", "always", "never"),
                        help="coloured token backgrounds in the terminal "
                             "(default: when stdout is a terminal)")


def run(args):
    run_ = open_run(args.run)
    out = args.out or os.path.join(args.run if os.path.isdir(args.run) else os.path.dirname(args.run) or ".",
                                   "explanations")
    if run_.is_image:
        if args.method not in IMAGE_METHODS:
            raise UsageError(f"--method {args.method}: explains text runs; for images use one of "
                             f"{', '.join(IMAGE_METHODS)}")
        lines = explain_images(run_, args.inputs, args.method, out, target=args.target, steps=args.steps,
                               samples=args.samples, window=args.window, baseline=args.baseline, top=args.top)
    elif run_.kind == "finetune":
        if args.method not in TEXT_METHODS:
            raise UsageError(f"--method {args.method}: explains image runs; for text use one of "
                             f"{', '.join(TEXT_METHODS)}")
        from .predict import _sentences
        colour = args.color == "always" or (args.color == "auto" and sys.stdout.isatty())
        lines = explain_text(run_, _sentences(run_, args.inputs), args.method, out, target=args.target,
                             steps=args.steps, word=args.word, top=args.top, colour=colour)
    else:
        raise UsageError(f"RUN {args.run}: explain works on classifiers "
                         f"(image runs, SST-2 and NER fine-tunes); this is a {run_.kind} run")
    for line in lines:
        print(line, flush=True)
    return 0


# ------------------------------------------------------------------------------------------------
# targets
# ------------------------------------------------------------------------------------------------
def class_index(classes, target):
    """``--target`` as a class index: a class name, or an index into ``classes``."""
    if target is None:
        return None
    if target in classes:
        return classes.index(target)
    try:
        index = int(target)
    except ValueError:
        index = None
    if index is None or not 0 <= index < len(classes):
        shown = ", ".join(classes[:12]) + (" ..." if len(classes) > 12 else "")
        raise UsageError(f"--target {target}: not a class of this run; expected a name ({shown}) or an "
                         f"index 0..{len(classes) - 1}")
    return index


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------
def image_method(model, method, x, target, baseline, steps=64, samples=16, window=None):
    """``(attributions (N, C, H, W) or (N, 1, H, W), extra line or None)`` for one method on a batch."""
    from .. import explain
    if method == "ig":
        attr, delta = explain.IntegratedGradients(model).attribute(
            x, baselines=baseline, target=target, n_steps=steps, method="gausslegendre",
            internal_batch_size=max(8, x.shape[0] * 8), return_convergence_delta=True)
        return attr, f"completeness: sum of attributions - (F(x) - F(baseline)) = " \
                     f"{', '.join(f'{float(d):+.2e}' for d in delta.array.reshape(-1))}"
    if method == "saliency":
        return explain.Saliency(model).attribute(x, target=target, abs=True), None
    if method == "inputxgrad":
        return explain.InputXGradient(model).attribute(x, target=target), None
    if method == "smoothgrad":
        spread = float(x.array.max() - x.array.min()) or 1.0
        return explain.NoiseTunnel(explain.Saliency(model)).attribute(
            x, nt_type="smoothgrad", nt_samples=samples, stdevs=0.15 * spread, target=target, abs=True), None
    if method == "guided":
        return explain.GuidedBackprop(model).attribute(x, target=target), None
    if method == "deeplift":
        attr, delta = explain.DeepLift(model).attribute(x, baselines=baseline, target=target,
                                                        return_convergence_delta=True)
        return attr, f"completeness: sum of attributions - (F(x) - F(baseline)) = " \
                     f"{', '.join(f'{float(d):+.2e}' for d in delta.array.reshape(-1))}"
    if method == "gradcam":
        layer = last_convolution(model)
        cam = explain.LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
        up = explain.LayerAttribution.interpolate(cam, tuple(x.shape[2:]), interpolate_mode="bilinear")
        return up, None
    if method == "occlusion":
        channels, height, _ = x.shape[1:]
        k = window or max(2, height // 7)
        if k > height:
            raise UsageError(f"--window {k}: larger than the image ({height} x {height})")
        stride = max(1, k // 2)
        return explain.Occlusion(model).attribute(x, sliding_window_shapes=(channels, k, k),
                                                  strides=(channels, stride, stride), baselines=baseline,
                                                  target=target, perturbations_per_eval=8), None
    raise UsageError(f"--method {method}: unknown; expected one of {', '.join(IMAGE_METHODS)}")


def last_convolution(model):
    """The last Conv2d of a model, where Grad-CAM looks (its maps are the most semantic that still
    have a spatial layout)."""
    from ..nn.conv import Conv2d
    convs = [m for m in model.modules() if isinstance(m, Conv2d)]
    if not convs:
        raise UsageError(f"--method gradcam: this run's model ({type(model).__name__}) has no convolution; "
                         "use ig, saliency or occlusion")
    return convs[-1]


def explain_images(run_, paths, method, out, target=None, steps=64, samples=16, window=None, baseline="black",
                   top=5):
    """Explain each image file: a PNG per file and lines for the terminal."""
    import numpy as np
    from .. import from_numpy, no_grad
    from ..explain.render import image_map, pixel_names, save_heatmap, top_features
    from ..nn import functional as F
    from ..training.datasets import _normalise
    from ..training.restore import IMAGE_SHAPES
    from .predict import predict_images, read_image
    predict_images(run_, paths, 1)                         # the same checks of the files as predict
    channels, size, _ = IMAGE_SHAPES[run_.dataset]
    pixels = np.stack([read_image(path, channels, size) for path in paths])       # (N, H, W, C)
    x = from_numpy(_normalise(pixels, run_.dataset))                                 # (N, C, H, W)
    model = run_.model
    model.eval()
    with no_grad():
        probs = F.softmax(model(x), dim=1).array
    predicted = probs.argmax(axis=1)
    wanted = class_index(run_.classes, target)
    targets = [int(wanted if wanted is not None else p) for p in predicted]
    if baseline == "mean":
        base = from_numpy(np.broadcast_to(_normalise(np.full((1, size, size, channels), 0, np.float32) +
                                                     _mean_pixels(run_.dataset), run_.dataset),
                                          x.shape).copy())
    else:
        base = None                                                                   # zeros
    attr, extra = image_method(model, method, x, targets, base, steps, samples, window)
    attr = np.asarray(getattr(attr, "array", attr))
    lines = []
    for i, path in enumerate(paths):
        stem = os.path.splitext(os.path.basename(path))[0]
        png = os.path.join(out, f"{stem}_{method}.png")
        k = targets[i]
        title = (f"{os.path.basename(path)}: predicted {run_.classes[predicted[i]]} "
                 f"({100 * probs[i, predicted[i]]:.1f}%), explaining {run_.classes[k]} with {method}")
        save_heatmap(pixels[i], attr[i], png, title)
        heat = image_map(attr[i])
        best = top_features(heat, pixel_names(*heat.shape), top)
        lines.append(f"{path}: predicted {run_.classes[predicted[i]]} {100 * probs[i, predicted[i]]:.1f}%, "
                     f"explaining {run_.classes[k]} with {method}")
        lines.append("  top pixels: " + ", ".join(f"{name} {score:+.3g}" for name, score in best))
        lines.append(f"  wrote {png}")
    if extra:
        lines.append(extra)
    return lines


def _mean_pixels(dataset):
    """The data set's mean colour in 0..255 (the 'mean' baseline), from the normalisation constants."""
    import numpy as np
    from ..training.datasets import _STATS
    mean, _ = _STATS[dataset]
    return 255.0 * np.asarray(mean, np.float32)


# ------------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------------
def _text_batch(run_, sentences):
    """Token ids, types and mask for the sentences, and per sentence the word of each token (NER)."""
    from ..training.finetune import encode_batch
    from .predict import _max_length, split_words
    if run_.task == "sst2":
        ids, types, mask, _ = encode_batch(run_.tokenizer, [(s, 0) for s in sentences], "sequence",
                                           _max_length(run_))
        return ids, types, mask, None, None
    words_list = [split_words(s) for s in sentences]
    ids, types, mask, first = encode_batch(run_.tokenizer, [(w, [0] * len(w)) for w in words_list], "token",
                                           _max_length(run_))
    return ids, types, mask, first, words_list


def text_scores(model, method, ids, types, mask, targets, tokenizer, steps=64):
    """One score per token for each (row, target) pair: ``targets`` is a list of
    ``(row, class)`` (sentence classification) or ``(row, (position, class))`` (token classification).
    Returns a list of arrays (S,), one per pair, and an extra line (completeness) or None."""
    import numpy as np
    from .. import explain, from_numpy
    rows = [r for r, _ in targets]
    sel_ids, sel_types, sel_mask = ids[rows], types[rows], mask[rows]
    target = [t for _, t in targets]
    args = (from_numpy(sel_mask), from_numpy(sel_types))

    def forward(input_ids, attention_mask, token_type_ids):
        return model(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

    if method == "ig":
        special = np.isin(sel_ids, [tokenizer.cls_token_id, tokenizer.sep_token_id]) | (sel_mask == 0)
        baseline = np.where(special, sel_ids, tokenizer.pad_token_id)
        lig = explain.LayerIntegratedGradients(forward, model.bert.embeddings)
        attr, delta = lig.attribute(from_numpy(sel_ids), baselines=from_numpy(baseline), target=target,
                                    additional_forward_args=args, n_steps=steps, method="gausslegendre",
                                    return_convergence_delta=True)
        scores = np.asarray(attr.array).sum(axis=-1)                            # (N, S): per token
        return list(scores), ("completeness: sum of attributions - (F(x) - F(baseline)) = "
                              + ", ".join(f"{float(d):+.2e}" for d in np.asarray(delta.array).reshape(-1)))
    if method == "occlusion":
        baseline = np.where(sel_mask == 1, tokenizer.mask_token_id, sel_ids)
        attr = explain.FeatureAblation(forward).attribute(from_numpy(sel_ids), baselines=from_numpy(baseline),
                                                          target=target, additional_forward_args=args,
                                                          perturbations_per_eval=8)
        return list(np.asarray(attr.array, np.float64)), None
    if method == "attention":
        maps = explain.attention_maps(model, from_numpy(sel_ids), attention_mask=from_numpy(sel_mask))
        rollout = np.asarray(explain.attention_rollout(maps))                     # (N, S, S)
        out = []
        for i, t in enumerate(target):
            position = t[0] if isinstance(t, tuple) else 0                        # [CLS] for a sentence
            out.append(rollout[i, position])
        return out, None
    raise UsageError(f"--method {method}: unknown for text; expected one of {', '.join(TEXT_METHODS)}")


def explain_text(run_, sentences, method, out, target=None, steps=64, word=None, top=5, colour=False):
    """Explain each sentence (SST-2) or the tagged words of each sentence (NER): terminal lines and an
    HTML page."""
    import numpy as np
    from .. import from_numpy, no_grad
    from ..explain.render import tokens_html, tokens_terminal, top_features, write_text
    from ..nn import functional as F
    from ..text.ner_metrics import get_entities
    model, tok = run_.model, run_.tokenizer
    model.eval()
    ids, types, mask, first, words_list = _text_batch(run_, sentences)
    with no_grad():
        probs = F.softmax(model(from_numpy(ids), attention_mask=from_numpy(mask),
                                token_type_ids=from_numpy(types)).logits, dim=-1).array
    wanted = class_index(run_.classes, target)
    pairs, captions = [], []
    for row, sentence in enumerate(sentences):
        if first is None:                                              # one label per sentence
            k = int(wanted if wanted is not None else probs[row].argmax())
            pairs.append((row, k))
            captions.append(f"\"{sentence}\": predicted {run_.classes[int(probs[row].argmax())]} "
                            f"{100 * probs[row].max():.1f}%, explaining {run_.classes[k]}")
            continue
        positions = np.flatnonzero(first[row] != -100)                 # the first piece of each word
        tags = [run_.classes[int(probs[row, p].argmax())] for p in positions]
        words = words_list[row][:len(positions)]
        if word is not None:
            if word > len(words):
                raise UsageError(f"--word {word}: the sentence \"{sentence}\" has {len(words)} words "
                                 "(within the run's max_length)")
            chosen = [word - 1]
        else:
            chosen = [i for kind, a, b in get_entities(tags) for i in range(a, b + 1)] or [0]
        for i in chosen:
            p = int(positions[i])
            k = int(wanted if wanted is not None else probs[row, p].argmax())
            pairs.append((row, (p, k)))
            captions.append(f"\"{words[i]}\" (word {i + 1} of \"{sentence}\"): predicted {tags[i]} "
                            f"{100 * probs[row, p].max():.1f}%, explaining {run_.classes[k]}")
    scores, extra = text_scores(model, method, ids, types, mask, pairs, tok, steps)
    lines, rows = [], []
    for (row, _), caption, s in zip(pairs, captions, scores):
        length = int(mask[row].sum())
        tokens = tok.convert_ids_to_tokens([int(t) for t in ids[row][:length]])
        s = np.asarray(s, np.float64)[:length]
        rows.append((caption, tokens, s))
        named = [f"{t}@{i}" for i, t in enumerate(tokens)]
        best = top_features(s, named, top)
        lines.append(caption + f" with {method}")
        lines.append("  " + tokens_terminal(tokens, s, colour=colour))
        lines.append("  top tokens: " + ", ".join(f"{name} {score:+.3g}" for name, score in best))
    note = ("Attention rollout shows where information flowed between tokens, not what the prediction "
            "depends on; compare it with --method ig." if method == "attention" else "")
    page = write_text(os.path.join(out, f"explanation_{method}.html"),
                      tokens_html(rows, title=f"{method} explanations", note=note))
    if extra:
        lines.append(extra)
    lines.append(f"wrote {page}")
    return lines
