"""``POST /v1/completions`` against the real server (``python -m tinygrad_edu serve``): the official
OpenAI client, equality with ``GPT.generate`` / ``generate_stream`` in process, concurrent requests,
stop strings, ``n``, usage, every error status, a client that disconnects, the time limit."""
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from serve_fixtures import Server, need, runs  # noqa: F401  (fixtures)

PROMPT = "First Citizen:\nBefore we proceed any further, hear me speak."


@pytest.fixture(scope="module")
def gpt_run(runs):  # noqa: F811
    return need(runs, "gpt")[0]


@pytest.fixture(scope="module")
def server(gpt_run):
    with Server(gpt_run) as started:
        yield started


@pytest.fixture(scope="module")
def local(gpt_run):
    """The same run loaded in this process."""
    from tinygrad_edu.training.restore import load_run
    return load_run(gpt_run)


def greedy(local, prompt, max_tokens):
    """What ``GPT.generate`` writes after ``prompt`` at temperature 0."""
    ids = local.tokenizer.encode(prompt)
    out = local.model.generate(np.asarray([ids], np.int64), max_tokens, temperature=0)
    return local.tokenizer.decode(out.numpy()[0, len(ids):].tolist())


def sampled(local, prompt, max_tokens, seed, temperature=1.0, top_k=None, top_p=None):
    """What ``GPT.generate_stream`` draws with ``np.random.default_rng(seed)``."""
    ids = local.tokenizer.encode(prompt)
    stream = local.model.generate_stream(np.asarray([ids], np.int64), max_tokens, temperature=temperature,
                                         top_k=top_k, top_p=top_p, generator=np.random.default_rng(seed))
    return local.tokenizer.decode([int(t[0]) for t in stream])


def complete(server, **body):
    status, reply = server.post("/v1/completions", body, timeout=30)
    assert status == 200, reply
    return reply


def stream_events(server, **body):
    """The ``data:`` payloads of a streamed completion, read with plain HTTP."""
    status, headers, raw = server.request("POST", "/v1/completions", dict(body, stream=True), timeout=30)
    assert status == 200, raw
    assert headers["content-type"].startswith("text/event-stream")
    events = [block[len("data: "):] for block in raw.decode().split("\n\n") if block]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def tokens_generated(server):
    status, _, raw = server.get("/metrics", timeout=10)
    assert status == 200
    line = next(x for x in raw.decode().splitlines() if x.startswith("tinygrad_edu_tokens_generated_total "))
    return int(float(line.split()[1]))


def healthy(server):
    return server.get("/health", timeout=10)[0] == 200


# ------------------------------------------------------------------------------------------------
# (1) the official OpenAI client, streamed and not
# ------------------------------------------------------------------------------------------------
def test_openai_client_streamed_and_not(server, local):
    import openai
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", timeout=30, max_retries=0)
    settings = dict(model="gpt", prompt="ROMEO:", max_tokens=40, temperature=0.9, top_p=0.95, seed=11,
                    extra_body={"top_k": 30})
    whole = client.completions.create(**settings)
    assert whole.object == "text_completion" and whole.id.startswith("cmpl-") and whole.model == "gpt"
    assert whole.choices[0].finish_reason == "length"
    assert len(whole.choices[0].text) == 40
    usage = whole.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (6, 40, 46)

    chunks = list(client.completions.create(stream=True, **settings))
    assert len(chunks) == 40                                          # one chunk per character
    assert "".join(c.choices[0].text for c in chunks) == whole.choices[0].text
    assert [c.choices[0].finish_reason for c in chunks] == [None] * 39 + ["length"]
    assert whole.choices[0].text == sampled(local, "ROMEO:", 40, 11, 0.9, 30, 0.95)

    listed = client.models.list()
    assert [m.id for m in listed.data] == ["gpt"]
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="no-such-model", prompt="A", max_tokens=1)
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model="gpt", prompt="A", max_tokens=100000)


# ------------------------------------------------------------------------------------------------
# (2) the same tokens as in process
# ------------------------------------------------------------------------------------------------
def test_greedy_equals_generate_in_process(server, local):
    for prompt, max_tokens in (("ROMEO:", 50), (PROMPT[:20], 10), ("A", 1)):
        reply = complete(server, prompt=prompt, max_tokens=max_tokens, temperature=0)
        assert reply["choices"][0]["text"] == greedy(local, prompt, max_tokens)


def test_seeded_sampling_equals_generate_stream(server, local):
    for seed, temperature, top_k, top_p in ((0, 1.0, None, None), (5, 0.7, 10, None), (123, 1.3, None, 0.8)):
        reply = complete(server, prompt="KING:", max_tokens=30, temperature=temperature, top_k=top_k,
                         top_p=top_p, seed=seed)
        assert reply["choices"][0]["text"] == sampled(local, "KING:", 30, seed, temperature, top_k, top_p)
    a = complete(server, prompt="KING:", max_tokens=30, seed=9)["choices"][0]["text"]
    b = complete(server, prompt="KING:", max_tokens=30, seed=10)["choices"][0]["text"]
    assert a != b                                              # the seed is what decides


# ------------------------------------------------------------------------------------------------
# (3) concurrent requests give what each gives alone
# ------------------------------------------------------------------------------------------------
def _concurrently(server, bodies):
    with ThreadPoolExecutor(len(bodies)) as pool:
        replies = list(pool.map(lambda body: complete(server, **body), bodies))
    return [r["choices"][0]["text"] for r in replies]


def test_concurrent_greedy_equals_sequential(server, local):
    bodies = [dict(prompt=PROMPT[:length], max_tokens=120, temperature=0)
              for length in (1, 3, 6, 9, 14, 20, 26, 32)]
    alone = [complete(server, **body)["choices"][0]["text"] for body in bodies]
    together = _concurrently(server, bodies)
    assert together == alone
    assert alone[3] == greedy(local, PROMPT[:9], 120)


def test_concurrent_seeded_equals_alone(server, local):
    bodies = [dict(prompt=PROMPT[:length], max_tokens=120, temperature=1.0, top_k=40, seed=100 + i)
              for i, length in enumerate((2, 4, 7, 11, 15, 19, 25, 30))]
    together = _concurrently(server, bodies)
    alone = [complete(server, **body)["choices"][0]["text"] for body in bodies]
    assert together == alone
    assert len(set(together)) == len(together)
    assert together[5] == sampled(local, PROMPT[:19], 120, 105, 1.0, 40)


def test_short_request_is_not_stuck_behind_a_long_one(server, local):
    long = dict(prompt="ROMEO:", max_tokens=1024, n=8, seed=3)          # about a second of decoding
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(complete, server, **long)
        time.sleep(0.15)
        short = complete(server, prompt="KING:", max_tokens=5, temperature=0)
        assert not running.done()                     # it joined the long one's steps, not its queue
        assert short["choices"][0]["text"] == greedy(local, "KING:", 5)
        assert running.result(timeout=60)["usage"]["completion_tokens"] == 8 * 1024


# ------------------------------------------------------------------------------------------------
# (4) usage, n, stop strings, echo
# ------------------------------------------------------------------------------------------------
def test_n_and_usage(server, local):
    reply = complete(server, prompt="ROMEO:", max_tokens=25, seed=42, n=2)
    texts = [c["text"] for c in reply["choices"]]
    assert [c["index"] for c in reply["choices"]] == [0, 1]
    assert texts == [sampled(local, "ROMEO:", 25, 42), sampled(local, "ROMEO:", 25, 43)]   # seeds s, s + 1
    assert reply["usage"] == {"prompt_tokens": 6, "completion_tokens": 50, "total_tokens": 56}

    events = stream_events(server, prompt="ROMEO:", max_tokens=25, seed=42, n=2,
                           stream_options={"include_usage": True})
    for i in range(2):
        pieces = [e["choices"][0] for e in events if e["choices"] and e["choices"][0]["index"] == i]
        assert "".join(p["text"] for p in pieces) == texts[i]
        assert pieces[-1]["finish_reason"] == "length"
    assert events[-1]["choices"] == [] and events[-1]["usage"] == reply["usage"]

    zero = complete(server, prompt="ROMEO:", max_tokens=0)
    assert zero["choices"][0]["text"] == "" and zero["choices"][0]["finish_reason"] == "length"
    assert zero["usage"] == {"prompt_tokens": 6, "completion_tokens": 0, "total_tokens": 6}
    echoed = complete(server, prompt="ROMEO:", max_tokens=5, temperature=0, echo=True)
    assert echoed["choices"][0]["text"] == "ROMEO:" + greedy(local, "ROMEO:", 5)


def test_stop_strings(server, local):
    text = sampled(local, "ROMEO:", 60, 7)
    stop = text[20:22]
    cut = text.find(stop)
    body = dict(prompt="ROMEO:", max_tokens=60, seed=7, stop=["not-a-possible-text", stop])
    reply = complete(server, **body)
    assert reply["choices"][0] == {"text": text[:cut], "index": 0, "logprobs": None, "finish_reason": "stop"}
    assert reply["usage"]["completion_tokens"] == cut + len(stop)           # tokens up to the stop's end
    events = stream_events(server, **body)
    assert "".join(e["choices"][0]["text"] for e in events) == text[:cut]  # held back, never streamed
    assert events[-1]["choices"][0]["finish_reason"] == "stop"
    single = complete(server, prompt="ROMEO:", max_tokens=60, seed=7, stop=text[30])
    assert single["choices"][0]["text"] == text[:text.find(text[30])]


# ------------------------------------------------------------------------------------------------
# (5) errors: a JSON error with the right status, and a healthy server afterwards
# ------------------------------------------------------------------------------------------------
ERRORS = [
    ({"model": "nope", "prompt": "A"}, 404, "model", "nope"),
    ({"prompt": "A", "max_tokens": 1025}, 400, "max_tokens", "1024"),
    ({"prompt": "A" * 33}, 400, "prompt", "33"),
    ({"prompt": "ROMEO é€"}, 400, "prompt", "'é'"),
    ({"prompt": ""}, 400, "prompt", "empty"),
    ({"prompt": "A", "temperature": 2.5}, 400, "temperature", "2.5"),
    ({"prompt": "A", "top_p": 0}, 400, "top_p", "0"),
    ({"prompt": "A", "top_k": 0}, 400, "top_k", "0"),
    ({"prompt": "A", "n": 9}, 400, "n", "9"),
    ({"prompt": "A", "stop": ["a", "b", "c", "d", "e"]}, 400, "stop", "4"),
    ({"prompt": "A", "logprobs": 3}, 400, "logprobs", "not supported"),
    ({}, 422, "prompt", "required"),
    ({"max_tokens": 5}, 422, "prompt", "required"),
    ({"prompt": 5}, 422, "prompt", "int"),
    ({"prompt": ["A", "B"]}, 422, "prompt", "list of 2"),
    ({"prompt": [1, 2]}, 422, "prompt", "list"),
    ({"prompt": "A", "max_tokens": "10"}, 422, "max_tokens", "'10'"),
    ({"prompt": "A", "max_tokens": 1.5}, 422, "max_tokens", "1.5"),
    ({"prompt": "A", "temperature": "hot"}, 422, "temperature", "hot"),
    ({"prompt": "A", "seed": True}, 422, "seed", "boolean"),
    ({"prompt": "A", "stop": [1]}, 422, "stop", "[1]"),
    ({"prompt": "A", "stream": "yes"}, 422, "stream", "yes"),
]


@pytest.mark.parametrize("body,status,param,text", ERRORS,
                         ids=[f"{e[1]}-{e[2]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors(server, local, body, status, param, text):
    if param == "prompt" and status == 400 and text == "33":
        assert local.model.config.block_size == 32        # the fixture's context
    got, reply = server.post("/v1/completions", body, timeout=10)
    assert got == status, reply
    assert reply["error"]["param"] == param
    assert text in reply["error"]["message"]
    assert healthy(server)


def test_not_json(server):
    status, _, raw = server.request("POST", "/v1/completions", b"{not json",
                                    {"Content-Type": "application/json"}, timeout=10)
    assert status == 422 and "error" in json.loads(raw)
    assert healthy(server)


# ------------------------------------------------------------------------------------------------
# (6) a client that goes away mid-stream stops its generation
# ------------------------------------------------------------------------------------------------
def test_disconnect_mid_stream_stops_generation(server):
    before = tokens_generated(server)
    body = json.dumps({"prompt": "ROMEO:", "max_tokens": 1024, "n": 8, "seed": 1, "stream": True}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)
    reader = sock.makefile("rb")
    assert reader.readline().startswith(b"HTTP/1.1 200")
    seen = 0
    while seen < 2:
        line = reader.readline()
        assert line, "the stream ended early"
        seen += line.startswith(b"data: {")
    reader.close()
    sock.close()
    time.sleep(0.3)
    after_close = tokens_generated(server)
    time.sleep(1.0)
    later = tokens_generated(server)
    assert later - after_close < 10                        # nothing more is generated for it
    assert after_close - before < 8 * 1024                 # it stopped before the end
    assert healthy(server)
    assert '"POST /v1/completions" 200' in server.output()


# ------------------------------------------------------------------------------------------------
# (7) the time limit: 504, or an error event in a stream
# ------------------------------------------------------------------------------------------------
def test_time_limit(gpt_run):
    with Server(gpt_run, options=["--timeout", "0.5", "--max-tokens-limit", "1000"]) as slow:
        long = {"prompt": "ROMEO:", "max_tokens": 1000, "n": 8, "seed": 0}
        start = time.monotonic()
        status, reply = slow.post("/v1/completions", long, timeout=30)
        assert status == 504, reply
        assert reply["error"]["type"] == "timeout_error" and "0.5 s" in reply["error"]["message"]
        assert time.monotonic() - start < 3
        assert healthy(slow)

        status, _, raw = slow.request("POST", "/v1/completions", dict(long, stream=True), timeout=30)
        assert status == 200
        events = [block[len("data: "):] for block in raw.decode().split("\n\n") if block]
        assert events[-1] == "[DONE]"
        assert json.loads(events[-2])["error"]["type"] == "timeout_error"
        assert len(events) - 2 < 8 * 1000                  # cut off before the end
        time.sleep(0.3)
        first = tokens_generated(slow)
        time.sleep(0.5)
        assert tokens_generated(slow) - first < 10          # the timed-out generations were dropped
        short = complete(slow, prompt="A", max_tokens=3, temperature=0)
        assert short["choices"][0]["finish_reason"] == "length"


# ------------------------------------------------------------------------------------------------
# the optional chat endpoint: messages laid out as a play's speeches
# ------------------------------------------------------------------------------------------------
def test_chat_completions(server, local):
    import openai
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", timeout=30, max_retries=0)
    messages = [{"role": "user", "content": "Who art thou?"}]
    prompt = "USER:\nWho art thou?\n\nASSISTANT:\n"
    reply = client.chat.completions.create(model="gpt", messages=messages, max_tokens=8, temperature=0)
    assert reply.object == "chat.completion" and reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content == greedy(local, prompt, 8)
    assert reply.usage.prompt_tokens == len(prompt) and reply.usage.completion_tokens == 8
    chunks = list(client.chat.completions.create(model="gpt", messages=messages, max_tokens=8, seed=3,
                                                 stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == sampled(local, prompt, 8, 3)
    assert chunks[-1].choices[0].finish_reason == "length"
    status, error = server.post("/v1/chat/completions", {"messages": [{"role": "user"}]}, timeout=10)
    assert status == 422 and error["error"]["param"] == "content"
    status, error = server.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "A" * 40}]},
                                timeout=10)
    assert status == 400 and error["error"]["param"] == "messages" and "32" in error["error"]["message"]
    assert healthy(server)
