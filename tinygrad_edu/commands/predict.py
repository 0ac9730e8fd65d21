"""``python -m tinygrad_edu predict RUN INPUT...``: what a trained model says about new inputs.

    python -m tinygrad_edu predict runs/vgg_mnist digit.png seven.npy      # image runs: files
    python -m tinygrad_edu predict runs/sst2_pretrained "A gorgeous, witty film."
    python -m tinygrad_edu predict runs/conll2003_pretrained "Angela Merkel visited Paris in May ."
    python -m tinygrad_edu predict runs/mlm_pretrain "the king [MASK] the crown ."   # pretrain: fill in

**Images** (PNG, JPEG or NPY) are made to look like the training data before the model sees them: read
with Pillow, converted to the run's channels (grey for MNIST, RGB for CIFAR-10), resized to its image
size, scaled to [0, 1] and normalised with the data set's mean and standard deviation
(``training/datasets.py``).  An ``.npy`` array holds pixels (H, W), (H, W, C) or (C, H, W): uint8 in
0..255, or floats in [0, 1].  MNIST digits are white on black: a black-on-white drawing should be
inverted first.  Each file gets its ``--top`` most likely classes with their probabilities (softmax).

**Sentences** (SST-2 runs) get a label and its probability.  **Named entities** (CoNLL-2003 and
WNUT-17 runs): the sentence is split into words (and punctuation), each word is tagged from its first
WordPiece token, and the BIO tags are read as entity spans (``text/ner_metrics.get_entities``).
"""
import os
import re

from . import UsageError
from .checks import positive_int
from .evaluate import open_run

HELP = "label images (image runs), sentences (SST-2) or entities (NER) with a trained run"

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")


def add_arguments(parser):
    parser.add_argument("run", metavar="RUN",
                        help="a run folder written by train, finetune or pretrain (or its checkpoint file)")
    parser.add_argument("inputs", metavar="INPUT", nargs="+",
                        help="image files (PNG, JPEG, NPY) for image runs; sentences, quoted, for text runs")
    parser.add_argument("--top", type=positive_int, default=3, metavar="K",
                        help="how many of the likeliest classes to show per image or [MASK]")


def run(args):
    run_ = open_run(args.run)
    if run_.is_image:
        lines = predict_images(run_, args.inputs, args.top)
    elif run_.kind == "finetune" and run_.task == "sst2":
        lines = predict_sentences(run_, _sentences(run_, args.inputs))
    elif run_.kind == "finetune":
        lines = predict_entities(run_, _sentences(run_, args.inputs))
    elif run_.kind == "pretrain":
        lines = fill_masks(run_, _sentences(run_, args.inputs), args.top)
    else:
        raise UsageError(f"RUN {args.run}: predict labels inputs with image, finetune and pretrain runs; "
                         f"a {run_.kind} run writes text: use `generate {args.run} --prompt ...`")
    for line in lines:
        print(line, flush=True)
    return 0


# ------------------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------------------
def read_image(path, channels, size):
    """The pixels of ``path`` as float32 (size, size, channels) in 0..255."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise UsageError(f"INPUT {path}: not a NumPy array file: {str(exc).splitlines()[0]}") from None
        return _array_pixels(path, array, channels, size)
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            pixels = np.asarray(image, np.float32)
    except (UnidentifiedImageError, OSError) as exc:
        raise UsageError(f"INPUT {path}: not an image Pillow can read ({exc})") from None
    return pixels.reshape(size, size, channels)


def _array_pixels(path, array, channels, size):
    import numpy as np
    from PIL import Image
    if array.dtype.kind not in "uif" or array.ndim not in (2, 3):
        raise UsageError(f"INPUT {path}: expected pixels of shape (H, W), (H, W, C) or (C, H, W), got "
                         f"shape {array.shape} and dtype {array.dtype}")
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = array.transpose(1, 2, 0)                          # (C, H, W) → (H, W, C)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[-1] not in (1, 3):
        raise UsageError(f"INPUT {path}: expected 1 or 3 channels, got shape {array.shape}")
    pixels = array.astype(np.float32)
    if array.dtype.kind == "f":
        if pixels.min() < 0 or pixels.max() > 1:
            raise UsageError(f"INPUT {path}: float pixels must lie in [0, 1] (raw pixels, not normalised), "
                             f"got {pixels.min():.3g} .. {pixels.max():.3g}")
        pixels = pixels * 255.0
    if pixels.shape[-1] != channels:
        pixels = (np.repeat(pixels, 3, axis=-1) if channels == 3          # grey → RGB
                  else pixels @ np.asarray([[0.299], [0.587], [0.114]], np.float32))  # RGB → grey (luma)
    if pixels.shape[:2] != (size, size):
        planes = [Image.fromarray(np.ascontiguousarray(pixels[..., c])) for c in range(channels)]  # mode F
        pixels = np.stack([np.asarray(p.resize((size, size), Image.BILINEAR)) for p in planes], axis=-1)
    return pixels


def predict_images(run_, paths, top=3):
    """One line per file: ``file: label p%, label p%, ...`` (the ``top`` likeliest classes)."""
    import numpy as np
    from .. import from_numpy, no_grad
    from ..nn import functional as F
    from ..training.datasets import _normalise
    from ..training.restore import IMAGE_SHAPES
    channels, size, _ = IMAGE_SHAPES[run_.dataset]
    for path in paths:
        if os.path.exists(path) and not os.path.isfile(path):
            raise UsageError(f"INPUT {path}: not a regular file (an image run labels PNG, JPEG or NPY files)")
        if not os.path.isfile(path):
            raise UsageError(f"INPUT {path}: no such file (an image run labels PNG, JPEG or NPY files)")
        if os.path.splitext(path)[1].lower() not in IMAGE_SUFFIXES:
            raise UsageError(f"INPUT {path}: expected a PNG, JPEG or NPY file")
    pixels = np.stack([read_image(path, channels, size) for path in paths])       # (N, H, W, C)
    x = _normalise(pixels, run_.dataset)                                            # (N, C, H, W)
    with no_grad():
        probs = F.softmax(run_.model(from_numpy(x)), dim=1).array
    lines = []
    for path, p in zip(paths, probs):
        best = np.argsort(-p, kind="stable")[:top]
        lines.append(f"{path}: " + ", ".join(f"{run_.classes[k]} {100 * p[k]:.1f}%" for k in best))
    return lines


# ------------------------------------------------------------------------------------------------
# sentences, entities, masked words
# ------------------------------------------------------------------------------------------------
def _sentences(run_, inputs):
    """Text runs take sentences: a file name (an image, or any existing file) is a mistake."""
    what = {"sst2": "sentiment (SST-2)", "conll2003": "named-entity (CoNLL-2003)",
            "wnut17": "named-entity (WNUT-17)"}.get(run_.task, "masked-LM")
    for text in inputs:
        if text.lower().endswith(IMAGE_SUFFIXES) or os.path.isfile(text):
            raise UsageError(f"INPUT {text}: RUN is a {what} run, which reads sentences (quote each one), "
                             "not files")
        if not text.strip():
            raise UsageError("INPUT is empty: expected a sentence")
    return list(inputs)


def _max_length(run_):
    return int(run_.config.get("max_length") or 128)


def _logits(run_, ids, types, mask):
    """The BERT model's logits for one padded batch, without a graph."""
    from .. import from_numpy, no_grad
    with no_grad():
        return run_.model(from_numpy(ids), attention_mask=from_numpy(mask),
                          token_type_ids=from_numpy(types)).logits


def predict_sentences(run_, sentences):
    """One line per sentence: ``label p%  sentence``."""
    import numpy as np
    from ..nn import functional as F
    from ..training.finetune import encode_batch
    examples = [(sentence, 0) for sentence in sentences]
    ids, types, mask, _ = encode_batch(run_.tokenizer, examples, "sequence", _max_length(run_))
    probs = F.softmax(_logits(run_, ids, types, mask), dim=-1).array
    return [f"{run_.classes[int(np.argmax(p))]} {100 * p.max():.1f}%  {s}" for s, p in zip(sentences, probs)]


def split_words(sentence):
    """Words and punctuation marks, as CoNLL-2003 writes them: ``"Paris, France."`` → Paris , France ."""
    return re.findall(r"\w+(?:['’-]\w+)*|[^\w\s]", sentence)


def tag_words(run_, words_list):
    """The predicted BIO tag of every word of every sentence (from each word's first WordPiece token;
    words cut off by ``max_length`` are tagged ``O``)."""
    from ..training.finetune import encode_batch
    examples = [(words, [0] * len(words)) for words in words_list]
    ids, types, mask, first = encode_batch(run_.tokenizer, examples, "token", _max_length(run_))
    predicted = _logits(run_, ids, types, mask).array.argmax(-1)
    tags = []
    for row, words in enumerate(words_list):
        guess = [int(t) for t in predicted[row][first[row] != -100]]
        guess += [0] * (len(words) - len(guess))
        tags.append([run_.classes[t] for t in guess[:len(words)]])
    return tags


def predict_entities(run_, sentences):
    """Per sentence: the words with their tags, then the entity spans."""
    from ..text.ner_metrics import get_entities
    words_list = [split_words(s) for s in sentences]
    lines = []
    for words, tags in zip(words_list, tag_words(run_, words_list)):
        lines.append(" ".join(f"{w}/{t}" for w, t in zip(words, tags)))
        spans = [f"{kind} \"{' '.join(words[a:b + 1])}\" (words {a + 1}-{b + 1})" if b > a else
                 f"{kind} \"{words[a]}\" (word {a + 1})" for kind, a, b in get_entities(tags)]
        lines.append("  entities: " + ("; ".join(spans) if spans else "none"))
    return lines


def fill_masks(run_, sentences, top=3):
    """A masked-LM run fills in each ``[MASK]``: its ``top`` likeliest tokens per mask."""
    import numpy as np
    from .. import from_numpy, no_grad
    from ..nn import functional as F
    tok = run_.tokenizer
    if not all(tok.mask_token in s for s in sentences):
        raise UsageError(f"INPUT: a pretrain (masked-LM) run fills in {tok.mask_token}; put it in each "
                         "sentence, e.g. \"the king [MASK] the crown\"")
    lines = []
    for sentence in sentences:
        enc = tok([sentence], truncation=True, max_length=_max_length(run_), return_tensors="np")
        ids = np.asarray(enc["input_ids"], np.int64)
        with no_grad():
            logits = run_.model(from_numpy(ids), attention_mask=from_numpy(np.asarray(enc["attention_mask"])),
                                token_type_ids=from_numpy(np.asarray(enc["token_type_ids"], np.int64))).logits
        probs = F.softmax(logits, dim=-1).array[0]
        guesses = []
        for position in np.flatnonzero(ids[0] == tok.mask_token_id):
            best = np.argsort(-probs[position], kind="stable")[:top]
            guesses.append(", ".join(f"{tok.convert_ids_to_tokens(int(k))} {100 * probs[position, k]:.3g}%"
                                     for k in best))
        lines.append(f"{sentence}\n  " + "\n  ".join(f"[MASK] {i + 1}: {g}" for i, g in enumerate(guesses)))
    return lines
