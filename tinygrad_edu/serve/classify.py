"""Classification endpoints: sentences (SST-2), named entities (CoNLL-2003, WNUT-17), images.

They answer exactly what ``python -m tinygrad_edu predict`` computes in process
(``commands/predict.py``), only batched (``batching.py``):

``POST /v1/classify`` — sequence-classification runs
    ``{"model": "sst2", "input": "A gorgeous, witty film."}`` (or a list of up to ``max_texts``
    texts) → ``{"object": "list", "model", "data": [{"index", "label", "probabilities": {label: p}}],
    "usage": {"prompt_tokens", "total_tokens"}}``.  Each text is WordPiece-tokenized (``[CLS] text
    [SEP]``, cut at the run's ``max_length``), the batch is padded to its longest sequence, and
    ``p = softmax(logits)`` of the ``[CLS]`` head.  ``prompt_tokens`` counts the real (not padding)
    tokens.

``POST /v1/ner`` — token-classification runs
    ``{"model": "ner", "input": "Angela Merkel visited Paris ."}`` → per text ``{"index", "entities":
    [{"entity": "PER", "text": "Angela Merkel", "start": 0, "end": 13, "words": [0, 1]}], "tokens":
    [{"word", "tag", "start", "end"}]}``.  The text is split into words and punctuation as CoNLL-2003
    writes them (``predict.split_words``); each word is tagged from its *first* WordPiece
    (``predict.tag_words``); the BIO tags are read as spans (``text/ner_metrics.get_entities``).
    ``start``/``end`` are character offsets into the text as sent (``end`` exclusive, Python's slice:
    ``input[start:end]`` is the entity's text); ``words`` are the first and last word index.

``POST /v1/images/classify`` — image runs
    The image as a ``multipart/form-data`` upload (field ``file``; optional fields ``model``, ``top``)
    or as the raw bytes with ``Content-Type: image/png`` / ``image/jpeg`` (``?model=...&top=...``)::

        curl -F file=@digit.png -F model=lenet http://127.0.0.1:8000/v1/images/classify
        curl --data-binary @digit.png -H 'Content-Type: image/png' \\
             'http://127.0.0.1:8000/v1/images/classify?model=lenet'

    → ``{"model", "label", "probabilities": {class: p}, "top": [[class, p], ...]}``.  The image is made
    to look like the training data, as ``predict.read_image`` does: converted to the run's channels
    (grey or RGB), resized to its size (bilinear), scaled to [0, 1] and normalised with the data set's
    mean and standard deviation (``training/datasets._normalise``).

``model`` may be left out when exactly one model of the endpoint's kind is served.  Bad input is one
JSON error naming the field: 422 for a missing field or a wrong type, 400 for an image that cannot be
decoded or a model of another kind, 404 for an unknown model.
"""
import asyncio
import io

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Route

from .app import read_json
from .batching import batcher
from .errors import ApiError, field, invalid

#: the image formats the endpoint decodes
IMAGE_FORMATS = ("PNG", "JPEG")
#: an upload larger than this many pixels is refused before it is decoded (a "decompression bomb":
#: a few kilobytes of PNG can unpack to gigabytes of pixels)
MAX_IMAGE_PIXELS = 4096 * 4096
RAW_IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg", "application/octet-stream")


# ------------------------------------------------------------------------------------------------
# the batch functions (run on the compute thread, one call per batch)
# ------------------------------------------------------------------------------------------------
def classify_texts(run, texts):
    """``[(probabilities, real tokens)]`` of ``texts``, as ``predict.predict_sentences`` computes them."""
    from ..commands.predict import _logits, _max_length
    from ..nn import functional as F
    from ..training.finetune import encode_batch
    examples = [(text, 0) for text in texts]
    ids, types, mask, _ = encode_batch(run.tokenizer, examples, "sequence", _max_length(run))
    probs = F.softmax(_logits(run, ids, types, mask), dim=-1).array
    return [(row, int(real.sum())) for row, real in zip(probs, mask)]


def tag_texts(run, words_list):
    """The BIO tag of every word of every word list (``predict.tag_words``)."""
    from ..commands.predict import tag_words
    return tag_words(run, words_list)


def classify_images(run, images):
    """The class probabilities of ``images`` ((size, size, channels) float32 in 0..255), as
    ``predict.predict_images`` computes them."""
    import numpy as np
    from .. import from_numpy
    from ..nn import functional as F
    from ..training.datasets import _normalise
    x = _normalise(np.stack(images), run.dataset)                    # (N, C, H, W)
    return list(F.softmax(run.model(from_numpy(x)), dim=1).array)


# ------------------------------------------------------------------------------------------------
# request parsing
# ------------------------------------------------------------------------------------------------
def resolve_model(state, name, kind):
    """The served model named ``name`` (or the only one of ``kind`` when ``name`` is None)."""
    if name is None:
        name = state.default_model(kind)
        if name is None:
            served = sorted(n for n, m in state.models.items() if m.kind == kind)
            if not served:
                raise ApiError(404, f"no {kind} model is served here (served: "
                                    f"{', '.join(sorted(state.models)) or 'none'})", "model",
                               code="model_not_found")
            raise invalid(f"'model' is required: several {kind} models are served ({', '.join(served)})",
                          "model")
    return state.model(name, kind)


def texts_of(state, body, who):
    """``body["input"]`` as a list of 1..``max_texts`` non-empty strings."""
    value = field(body, "input", (str, list), who=who)
    texts = [value] if isinstance(value, str) else value
    limit = state.settings.max_texts
    if not texts:
        raise invalid(f"{who}: 'input' is an empty list; give 1 to {limit} texts", "input")
    if len(texts) > limit:
        raise invalid(f"{who}: 'input' holds {len(texts)} texts, more than the limit of {limit}", "input")
    for i, text in enumerate(texts):
        where = "'input'" if isinstance(value, str) else f"'input[{i}]'"
        if not isinstance(text, str):
            raise invalid(f"{who}: {where} must be a string, got {type(text).__name__} {text!r}"[:300],
                          "input")
        if not text.strip():
            raise invalid(f"{who}: {where} is empty; expected a text", "input")
    return texts


def word_offsets(text, words):
    """``[(start, end)]`` character offsets of ``words`` in ``text``: each word is searched from the
    end of the previous one (``split_words`` keeps the words in order and skips only whitespace)."""
    offsets, position = [], 0
    for word in words:
        start = text.find(word, position)
        if start < 0:                      # cannot happen for split_words' words; never crash on it
            start = position
        position = start + len(word)
        offsets.append((start, position))
    return offsets


def top_of(value, source):
    """The ``top`` form or query field: a positive integer (3 when absent)."""
    if value is None or value == "":
        return 3
    try:
        top = int(value)
    except (TypeError, ValueError):
        top = 0
    if top < 1:
        raise invalid(f"'top' ({source}) must be a positive integer, got {str(value)[:50]!r}", "top")
    return top


async def image_request(request):
    """``(image bytes, model name or None, top)`` of an upload: multipart/form-data or raw bytes."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            form = await request.form()
        except HTTPException as exc:
            raise ApiError(400, f"the multipart/form-data body cannot be parsed: {exc.detail}") from None
        try:
            upload, model, top = form.get("file"), form.get("model"), form.get("top")
            if not isinstance(upload, UploadFile):
                raise invalid("the form field 'file' is required and must be a file upload (the image)",
                              "file")
            if model is not None and not isinstance(model, str):
                raise invalid("the form field 'model' must be a plain field naming a served model", "model")
            data = await upload.read()
        finally:
            await form.close()
        if top is not None and not isinstance(top, str):
            raise invalid("the form field 'top' must be a plain field (a positive integer)", "top")
        return data, model or None, top_of(top, "form field")
    if content_type in RAW_IMAGE_TYPES:
        return (await request.body(), request.query_params.get("model") or None,
                top_of(request.query_params.get("top"), "query parameter"))
    raise ApiError(415, f"Content-Type {content_type or 'none'!r}: send the image as multipart/form-data "
                        "(field 'file') or as the raw bytes with Content-Type image/png or image/jpeg",
                   "file")


def decode_image(data, channels, size):
    """The pixels of a PNG or JPEG as float32 (size, size, channels) in 0..255, as
    ``predict.read_image`` reads a file (400 if it is not such an image)."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    if not data:
        raise ApiError(400, "the image is empty (0 bytes)", "file")
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ApiError(400, f"the image is {image.width}x{image.height} pixels, more than the limit "
                                    f"of {MAX_IMAGE_PIXELS} pixels", "file")
            image = image.convert("L" if channels == 1 else "RGB")
            if image.size != (size, size):
                image = image.resize((size, size), Image.BILINEAR)
            pixels = np.asarray(image, np.float32)
    except UnidentifiedImageError:
        raise ApiError(400, f"the upload ({len(data)} bytes, starting {data[:8]!r}) is not a PNG or JPEG "
                            "image", "file") from None
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ApiError(400, f"the upload is not a PNG or JPEG image Pillow can decode ({exc})"[:300],
                       "file") from None
    return pixels.reshape(size, size, channels)


# ------------------------------------------------------------------------------------------------
# the routes
# ------------------------------------------------------------------------------------------------
def routes(state):
    async def classify(request):
        body = await read_json(request)
        served = resolve_model(state, field(body, "model", str, None, who="classify"), "classify")
        texts = texts_of(state, body, "classify")
        run = served.run
        work = batcher(state, served, lambda batch: classify_texts(run, batch))
        results = await state.with_timeout(work.submit(texts))
        data = [{"index": i, "label": run.classes[int(probs.argmax())],
                 "probabilities": {label: float(p) for label, p in zip(run.classes, probs)}}
                for i, (probs, _) in enumerate(results)]
        tokens = sum(n for _, n in results)
        return JSONResponse({"object": "list", "model": served.name, "data": data,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    async def ner(request):
        from ..commands.predict import split_words
        from ..text.ner_metrics import get_entities
        body = await read_json(request)
        served = resolve_model(state, field(body, "model", str, None, who="ner"), "ner")
        texts = texts_of(state, body, "ner")
        run = served.run
        words_list = [split_words(text) for text in texts]
        work = batcher(state, served, lambda batch: tag_texts(run, batch))
        tags_list = await state.with_timeout(work.submit(words_list))
        data = []
        for i, (text, words, tags) in enumerate(zip(texts, words_list, tags_list)):
            offsets = word_offsets(text, words)
            entities = [{"entity": kind, "text": text[offsets[a][0]:offsets[b][1]], "start": offsets[a][0],
                         "end": offsets[b][1], "words": [a, b]} for kind, a, b in get_entities(tags)]
            tokens = [{"word": w, "tag": t, "start": s, "end": e}
                      for w, t, (s, e) in zip(words, tags, offsets)]
            data.append({"index": i, "entities": entities, "tokens": tokens})
        return JSONResponse({"object": "list", "model": served.name, "data": data})

    async def images(request):
        from ..training.restore import IMAGE_SHAPES
        data, name, top = await image_request(request)
        served = resolve_model(state, name, "image")
        run = served.run
        channels, size, _ = IMAGE_SHAPES[run.dataset]

        async def answer():
            # Pillow decodes in a helper thread (it touches no engine state); the model runs batched
            pixels = await asyncio.to_thread(decode_image, data, channels, size)
            work = batcher(state, served, lambda batch: classify_images(run, batch))
            return (await work.submit([pixels]))[0]

        probs = await state.with_timeout(answer())
        best = (-probs).argsort(kind="stable")                  # likeliest first, ties in class order
        return JSONResponse({"model": served.name, "label": run.classes[int(best[0])],
                             "probabilities": {label: float(p) for label, p in zip(run.classes, probs)},
                             "top": [[run.classes[int(k)], float(probs[k])] for k in best[:top]]})

    return [Route("/v1/classify", classify, methods=["POST"]), Route("/v1/ner", ner, methods=["POST"]),
            Route("/v1/images/classify", images, methods=["POST"])]
