"""``/v1/classify``, ``/v1/ner`` and ``/v1/images/classify`` against the real server: the answers equal
the in-process model's (``commands/predict.py``'s computation, ≤ 1e-6), batched or not, and every bad
request gets its JSON error while the server stays healthy."""
import io
import re
import threading
import uuid

import numpy as np
import pytest
from serve_fixtures import Server, need, runs  # noqa: F401  (fixtures)

TEXTS = ["A gorgeous, witty, seductive movie.", "bad", "The plot is thin but the acting carries it along.",
         "Neither funny nor moving: two hours of nothing at all, slowly."]
NER_TEXTS = ["Angela  Merkel visited Paris, France, in May.", "U.N. official Ekeus heads for Baghdad .",
             "  Spaces\tbefore and inside:   New   York's mayor -- O'Neill."]
TOL = 1e-6


@pytest.fixture(scope="module")
def folders(runs):  # noqa: F811
    sst2, ner, image = need(runs, "sst2", "ner", "image")
    return {"sst2": sst2, "ner": ner, "image": image}


@pytest.fixture(scope="module")
def server(folders):
    with Server(folders["sst2"], folders["ner"], folders["image"], options=["--max-wait-ms", "50"]) as s:
        yield s


@pytest.fixture(scope="module")
def loaded(folders):
    from tinygrad_edu.training.restore import load_run
    out = {}
    for kind, folder in folders.items():
        run = load_run(folder)
        run.model.eval()
        out[kind] = run
    return out


# ------------------------------------------------------------------------------------------------
# in-process references, computed as commands/predict.py does
# ------------------------------------------------------------------------------------------------
def max_length(run):
    return int(run.config.get("max_length") or 128)


def solo_probs(run, text):
    """predict_sentences' numbers for one sentence: encode_batch, then softmax of the logits."""
    from tinygrad_edu import from_numpy, no_grad
    from tinygrad_edu.nn import functional as F
    from tinygrad_edu.training.finetune import encode_batch
    ids, types, mask, _ = encode_batch(run.tokenizer, [(text, 0)], "sequence", max_length(run))
    with no_grad():
        logits = run.model(from_numpy(ids), attention_mask=from_numpy(mask),
                           token_type_ids=from_numpy(types)).logits
    return F.softmax(logits, dim=-1).array[0]


def image_probs(run, path):
    from tinygrad_edu import from_numpy, no_grad
    from tinygrad_edu.commands.predict import read_image
    from tinygrad_edu.nn import functional as F
    from tinygrad_edu.training.datasets import _normalise
    from tinygrad_edu.training.restore import IMAGE_SHAPES
    channels, size, _ = IMAGE_SHAPES[run.dataset]
    x = _normalise(read_image(str(path), channels, size)[None], run.dataset)
    with no_grad():
        return F.softmax(run.model(from_numpy(x)), dim=1).array[0]


def encode_image(kind, shape, seed):
    from PIL import Image
    pixels = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, kind)
    return buffer.getvalue()


def multipart(fields, file_bytes, content_type="image/png"):
    """A multipart/form-data body (fields, and the upload as field 'file') and its Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    if file_bytes is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
                     f'Content-Type: {content_type}\r\n\r\n'.encode() + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def batches_run(server):
    status, _, text = server.get("/metrics", timeout=10)
    assert status == 200
    return int(re.search(r"^tinygrad_edu_batches_total (\d+)$", text.decode(), re.M).group(1))


def as_vector(run, probabilities):
    assert list(probabilities) == list(run.classes)
    return np.asarray([probabilities[c] for c in run.classes])


# ------------------------------------------------------------------------------------------------
# the answers equal the in-process model's
# ------------------------------------------------------------------------------------------------
def test_classify_equals_in_process(server, loaded):
    run = loaded["sst2"]
    status, reply = server.post("/v1/classify", {"model": "sst2", "input": TEXTS})
    assert status == 200, reply
    assert reply["object"] == "list" and reply["model"] == "sst2" and len(reply["data"]) == len(TEXTS)
    tokens = 0
    for i, (text, item) in enumerate(zip(TEXTS, reply["data"])):
        expected = solo_probs(run, text)
        assert item["index"] == i
        np.testing.assert_allclose(as_vector(run, item["probabilities"]), expected, atol=TOL, rtol=0)
        assert item["label"] == run.classes[int(np.argmax(expected))]
        tokens += len(run.tokenizer([text], truncation=True, max_length=max_length(run))["input_ids"][0])
    assert reply["usage"]["prompt_tokens"] == tokens
    status, one = server.post("/v1/classify", {"input": TEXTS[0]})       # one string; the only classify model
    assert status == 200 and len(one["data"]) == 1
    np.testing.assert_allclose(as_vector(run, one["data"][0]["probabilities"]), solo_probs(run, TEXTS[0]),
                               atol=TOL, rtol=0)


def test_ner_equals_in_process_with_character_offsets(server, loaded):
    from tinygrad_edu.commands.predict import split_words, tag_words
    from tinygrad_edu.text.ner_metrics import get_entities
    run = loaded["ner"]
    status, reply = server.post("/v1/ner", {"model": "ner", "input": NER_TEXTS})
    assert status == 200, reply
    assert len(reply["data"]) == len(NER_TEXTS)
    n_entities = 0
    for text, item in zip(NER_TEXTS, reply["data"]):
        words = split_words(text)
        tags = tag_words(run, [words])[0]
        assert [t["word"] for t in item["tokens"]] == words
        assert [t["tag"] for t in item["tokens"]] == tags
        for token in item["tokens"]:
            assert text[token["start"]:token["end"]] == token["word"]
        assert [(e["entity"], *e["words"]) for e in item["entities"]] == get_entities(tags)
        for entity in item["entities"]:
            a, b = entity["words"]
            assert text[entity["start"]:entity["end"]] == entity["text"]
            assert re.sub(r"\s+", "", entity["text"]) == "".join(words[a:b + 1])   # its words, as spaced
            assert entity["start"] == item["tokens"][a]["start"] and entity["end"] == item["tokens"][b]["end"]
            n_entities += 1
    assert n_entities > 0, "the test texts should produce at least one entity to check offsets on"


def test_images_equal_in_process(server, loaded, tmp_path):
    run = loaded["image"]
    png = encode_image("PNG", (28, 28), 0)
    jpeg = encode_image("JPEG", (30, 41, 3), 1)          # RGB, another size: converted and resized
    for name, data, ctype in (("a.png", png, "image/png"), ("b.jpg", jpeg, "image/jpeg")):
        (tmp_path / name).write_bytes(data)
        expected = image_probs(run, tmp_path / name)
        body, headers = multipart({"model": "lenet", "top": "4"}, data, ctype)
        status, reply = server.post("/v1/images/classify", body, headers)
        assert status == 200, reply
        np.testing.assert_allclose(as_vector(run, reply["probabilities"]), expected, atol=TOL, rtol=0)
        order = np.argsort(-expected, kind="stable")
        assert reply["label"] == run.classes[int(order[0])]
        assert [label for label, _ in reply["top"]] == [run.classes[int(k)] for k in order[:4]]
        status, raw = server.post("/v1/images/classify?model=lenet", data, {"Content-Type": ctype})
        assert status == 200, raw
        np.testing.assert_allclose(as_vector(run, raw["probabilities"]), expected, atol=TOL, rtol=0)
        assert len(raw["top"]) == 3                              # the default, as predict --top


# ------------------------------------------------------------------------------------------------
# dynamic batching: batched results equal solo results
# ------------------------------------------------------------------------------------------------
def concurrent_posts(server, bodies, path="/v1/classify"):
    replies = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def one(i):
        barrier.wait(timeout=10)
        replies[i] = server.post(path, bodies[i], timeout=30)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a request hung"
    return replies


def varied_texts(n):
    words = "the film is a slow but often lovely and strange ride through memory".split()
    return [" ".join(words[:1 + (3 * i) % len(words)]) + "!" * (i % 3) for i in range(n)]


def test_concurrent_requests_are_batched_and_equal_solo(server, loaded):
    run = loaded["sst2"]
    texts = varied_texts(16)
    before = batches_run(server)
    replies = concurrent_posts(server, [{"model": "sst2", "input": t} for t in texts])
    grew = batches_run(server) - before
    for text, (status, reply) in zip(texts, replies):
        assert status == 200, reply
        np.testing.assert_allclose(as_vector(run, reply["data"][0]["probabilities"]), solo_probs(run, text),
                                   atol=TOL, rtol=0)
    assert 1 <= grew < len(texts), f"16 concurrent requests ran as {grew} batches: not batched"
    status, _, _ = server.get("/health", timeout=10)
    assert status == 200


def test_without_batching_the_numbers_are_the_same(folders, loaded):
    run = loaded["sst2"]
    texts = varied_texts(4)
    with Server(folders["sst2"], options=["--no-batching"]) as solo:
        before = batches_run(solo)
        replies = concurrent_posts(solo, [{"input": t} for t in texts])
        assert batches_run(solo) - before == len(texts)           # each request ran alone
        status, many = solo.post("/v1/classify", {"input": texts})
    for text, (status_one, reply) in zip(texts, replies):
        assert status_one == 200, reply
        np.testing.assert_allclose(as_vector(run, reply["data"][0]["probabilities"]), solo_probs(run, text),
                                   atol=TOL, rtol=0)
    assert status == 200
    for text, item in zip(texts, many["data"]):
        np.testing.assert_allclose(as_vector(run, item["probabilities"]), solo_probs(run, text),
                                   atol=TOL, rtol=0)


# ------------------------------------------------------------------------------------------------
# bad requests: one JSON error each, the server healthy after
# ------------------------------------------------------------------------------------------------
ERRORS = [
    ("/v1/classify", {"model": "ner", "input": "fine"}, 400, "model"),
    ("/v1/ner", {"model": "sst2", "input": "fine"}, 400, "model"),
    ("/v1/classify", {"model": "nope", "input": "fine"}, 404, "model"),
    ("/v1/ner", {"model": "nope", "input": "Paris"}, 404, "model"),
    ("/v1/classify", {"model": "sst2"}, 422, "input"),
    ("/v1/ner", {"model": "ner"}, 422, "input"),
    ("/v1/classify", {"model": "sst2", "input": 3}, 422, "input"),
    ("/v1/classify", {"model": "sst2", "input": ["fine", 7]}, 422, "input"),
    ("/v1/classify", {"model": "sst2", "input": {"text": "fine"}}, 422, "input"),
    ("/v1/classify", {"model": 5, "input": "fine"}, 422, "model"),
    ("/v1/classify", {"model": "sst2", "input": ""}, 422, "input"),
    ("/v1/ner", {"model": "ner", "input": ["Paris", "   "]}, 422, "input"),
    ("/v1/classify", {"model": "sst2", "input": []}, 422, "input"),
    ("/v1/classify", {"model": "sst2", "input": ["fine"] * 65}, 422, "input"),
]


@pytest.mark.parametrize("path,body,status,param", ERRORS, ids=[f"{p}-{s}-{i}" for i, (p, _, s, _) in
                                                                enumerate(ERRORS)])
def test_text_errors(server, path, body, status, param):
    got, reply = server.post(path, body)
    assert got == status, reply
    assert reply["error"]["param"] == param and reply["error"]["message"]
    assert server.get("/health", timeout=10)[0] == 200


def test_image_errors(server):
    png = encode_image("PNG", (28, 28), 2)
    cases = [
        (b"this is not an image", {"Content-Type": "image/png"}, 400),
        (b"", {"Content-Type": "image/png"}, 400),
        (*multipart({"model": "lenet"}, b"GIF89a not really"), 400),
        (*multipart({"model": "lenet"}, None), 422),                      # no file field
        (*multipart({"model": "lenet", "top": "zero"}, png), 422),
        (*multipart({"model": "sst2"}, png), 400),                         # a model of another kind
        (*multipart({"model": "nope"}, png), 404),
        (png, {"Content-Type": "text/plain"}, 415),
    ]
    for body, headers, status in cases:
        got, reply = server.post("/v1/images/classify", body, headers)
        assert got == status, (headers, reply)
        assert reply["error"]["message"]
        assert server.get("/health", timeout=10)[0] == 200
    got, reply = server.post("/v1/images/classify", png, {"Content-Type": "image/png"})   # model left out
    assert got == 200 and reply["model"] == "lenet"


# ------------------------------------------------------------------------------------------------
# the batcher itself (no server): full batches, splitting, dropped inputs
# ------------------------------------------------------------------------------------------------
def test_batcher_splits_fills_and_drops():
    import asyncio
    from types import SimpleNamespace

    from tinygrad_edu.serve.batching import Batcher
    from tinygrad_edu.serve.metrics import Metrics
    from tinygrad_edu.serve.settings import ServeSettings
    from tinygrad_edu.serve.worker import ComputeWorker
    sizes = []

    def run_batch(items):
        sizes.append(len(items))
        return [item * 10 for item in items]

    async def scenario():
        state = SimpleNamespace(settings=ServeSettings(max_batch=3, max_wait_ms=20), worker=ComputeWorker(),
                                metrics=Metrics(), helpers={})
        batcher = Batcher(state, None, run_batch)
        try:
            a, b = await asyncio.gather(batcher.submit([1, 2, 3, 4, 5, 6, 7]), batcher.submit([8]))
            assert a == [10, 20, 30, 40, 50, 60, 70] and b == [80]
            assert sizes == [3, 3, 2]                      # two full at once, the rest when the timer fired
            gone = asyncio.ensure_future(batcher.submit([9]))
            await asyncio.sleep(0)
            gone.cancel()                                  # its request went away before the timer fired
            assert await batcher.submit([11]) == [110]
            assert sizes == [3, 3, 2, 1] and state.metrics.batches == 4 and state.metrics.batched_inputs == 9
        finally:
            await batcher.close()
            state.worker.stop()

    asyncio.run(asyncio.wait_for(scenario(), 20))
