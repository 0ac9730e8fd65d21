# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial 11 — Serving a model over HTTP
#
# A trained model is useful to others once they can call it.  `python -m tinygrad_edu serve RUN`
# puts run folders behind an HTTP API that existing clients speak (OpenAI's completions API, plain
# JSON for classification).  This lesson takes the server apart:
#
# 1. a request and its answer: JSON in, JSON out, and status codes that say whose fault an error is;
# 2. streaming: server-sent events, one token at a time;
# 3. why concurrent generations share decode *steps* but not matrix products (BLAS and the batch shape);
# 4. dynamic batching of classification requests: what one forward pass for many inputs buys, and
#    what waiting for them costs;
# 5. the counters a server exposes (`/metrics`).
#
# The application runs inside this process through Starlette's `TestClient` (HTTP requests as
# function calls, no port opened); `serve` runs the same application under uvicorn.

# %%
import json
import os
import tempfile
import time
from pathlib import Path

import matplotlib
if "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from starlette.testclient import TestClient

import tinygrad_edu as tg
from tinygrad_edu.serve.app import create_app
from tinygrad_edu.serve.registry import load_models
from tinygrad_edu.serve.settings import ServeSettings

QUICK = os.environ.get("TUTORIAL_QUICK") == "1"
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)
except ImportError:
    pass
try:
    HERE = Path(__file__).resolve().parent
except NameError:
    HERE = Path.cwd()
OUTPUT = HERE / "output"
OUTPUT.mkdir(exist_ok=True)
START = time.perf_counter()

from tinygrad_edu.viz import show  # noqa: E402

# %% [markdown]
# Two small runs to serve: a character-level GPT trained for a few steps on tinyshakespeare, and a
# one-layer BERT sentiment classifier fine-tuned briefly on SST-2 (their quality does not matter here:
# what the server does with them does).

# %%
from tinygrad_edu.data.text_datasets import TinyShakespeare  # noqa: E402
from tinygrad_edu.models.bert import BertConfig  # noqa: E402
from tinygrad_edu.training import finetune  # noqa: E402
from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, train_gpt  # noqa: E402
from tinygrad_edu.training.run_folder import write_json_atomic  # noqa: E402

runs = Path(tempfile.mkdtemp(prefix="tutorial11_"))


def quiet(message):
    pass


def write_config(folder, kind, config):
    import dataclasses
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(str(folder / "config.json"),
                      {"kind": kind, "format": 1, "config": dataclasses.asdict(config)})


gpt_config = GPTTrainConfig(n_layer=2, n_head=2, n_embd=32, block_size=64, batch_size=8,
                            max_iters=200 if QUICK else 1000, eval_interval=200 if QUICK else 1000,
                            eval_iters=1,
                            final_eval_iters=2, sample_tokens=5, warmup_iters=5)
write_config(runs / "shakespeare", "gpt", gpt_config)
train_gpt(TinyShakespeare(split="train").text, TinyShakespeare(split="val").text, gpt_config,
          str(runs / "shakespeare"), log=quiet, progress_bar=False)

bert_dir = runs / "tiny_bert"
bert_dir.mkdir()
BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
           max_position_embeddings=64).to_json(str(bert_dir / "config.json"))
(bert_dir / "vocab.txt").write_bytes((Path(finetune.minilm_folder()) / "vocab.txt").read_bytes())
sst2_config = finetune.FinetuneConfig(task="sst2", init="scratch", model_dir=str(bert_dir), epochs=1,
                                      batch_size=16, limit_train=64 if QUICK else 2000, limit_eval=32,
                                      max_length=48, lr=1e-3)
write_config(runs / "sentiment", "finetune", sst2_config)
finetune.finetune(sst2_config, str(runs / "sentiment"), log=quiet, progress_bar=False)

models = load_models([str(runs / "shakespeare"), str(runs / "sentiment")])
app = create_app(models, ServeSettings(log_requests=False, max_wait_ms=20.0))
client = TestClient(app)
client.__enter__()                      # runs the application's start-up (and, at the end, its shut-down)
print(json.dumps(client.get("/v1/models").json(), indent=1)[:600])

# %% [markdown]
# ## 1. A request and its answer
#
# A completion request is a JSON object: which model, the prompt, how many tokens, how to sample.  The
# answer has OpenAI's shape — the `choices` with their text and why they ended (`finish_reason`), and
# `usage`, the tokens counted (a character is a token for this model).

# %%
reply = client.post("/v1/completions", json={"model": "shakespeare", "prompt": "ROMEO:\n", "max_tokens": 40,
                                             "temperature": 0.8, "seed": 1})
print(reply.status_code, json.dumps(reply.json(), indent=1))
answer = reply.json()
assert reply.status_code == 200 and answer["usage"]["completion_tokens"] == 40

# %% [markdown]
# The same seed gives the same text: sampling draws from the request's own random generator,
# `np.random.default_rng(seed)`, so nothing else the server does changes it.  And with
# `temperature 0` (greedy decoding) the server gives exactly what `GPT.generate` gives in process (in
# quick mode the model has trained for 200 steps only: its greedy text is repetitive):

# %%
again = client.post("/v1/completions", json={"model": "shakespeare", "prompt": "ROMEO:\n", "max_tokens": 40,
                                             "temperature": 0.8, "seed": 1}).json()
assert again["choices"][0]["text"] == answer["choices"][0]["text"]
run = models["shakespeare"].run
ids = np.asarray([run.tokenizer.encode("ROMEO:\n")], np.int64)
in_process = run.tokenizer.decode(run.model.generate(ids, 40, temperature=0)[0, ids.shape[1]:].tolist())
greedy = client.post("/v1/completions", json={"model": "shakespeare", "prompt": "ROMEO:\n", "max_tokens": 40,
                                              "temperature": 0}).json()["choices"][0]["text"]
print(f"greedy, server:     {greedy!r}\ngreedy, in process: {in_process!r}")
assert greedy == in_process

# %% [markdown]
# **Errors say whose fault they are.**  4xx: the client's (422 a field missing or of the wrong type,
# 400 a value the model cannot take, 404 a model that is not served); 5xx: the server's (504 out of
# time).  The body always names the field and the value, so the fix is one read away.

# %%
for body in ({"model": "shakespeare"},                                       # no prompt
             {"model": "shakespeare", "prompt": "hi", "max_tokens": "ten"},  # wrong type
             {"model": "shakespeare", "prompt": "x" * 100},                  # longer than the context (64)
             {"model": "shakespeare", "prompt": "naïve"},                    # a character it never saw
             {"model": "gpt-4", "prompt": "hi"}):                            # not served here
    r = client.post("/v1/completions", json=body)
    print(r.status_code, r.json()["error"]["message"])
    assert r.status_code in (400, 404, 422)

# %% [markdown]
# ## 2. Streaming: server-sent events
#
# With `"stream": true` the answer comes as it is made: the response stays open and the server writes
# one *event* per token, `data: {json}` and a blank line, then `data: [DONE]`.  A browser's
# `EventSource` and OpenAI's client read exactly this.  The pieces concatenate to the non-streamed text.

# %%
events = []
with client.stream("POST", "/v1/completions", json={"model": "shakespeare", "prompt": "ROMEO:\n",
                                                    "max_tokens": 40, "temperature": 0.8, "seed": 1,
                                                    "stream": True}) as stream:
    for line in stream.iter_lines():
        if line:
            events.append(line)
print("\n".join(events[:3]), "\n...\n" + events[-1])
pieces = [json.loads(e[len("data: "):])["choices"][0]["text"] for e in events if e != "data: [DONE]"]
assert events[-1] == "data: [DONE]" and "".join(pieces) == answer["choices"][0]["text"]

# %% [markdown]
# ## 3. Many generations at once: shared steps, not shared matrix products
#
# While a generation runs, others arrive.  The server's scheduler runs *steps*: in each one, every
# active generation takes its next token (one position through the network, with its own KV cache).
# A short request is never stuck behind a long one, and all streams move together.
#
# Why not stack the requests' positions into one (B, C) matrix and do one product per layer — faster?
# Because the result of a matrix product depends on the *shape of the batch*: OpenBLAS uses a
# matrix-vector kernel for one row and blocked matrix-matrix kernels for several, which add the same
# numbers in a different order.  Look:

# %%
rng = np.random.default_rng(0)
W = rng.normal(size=(384, 65)).astype(np.float32)
X = rng.normal(size=(8, 384)).astype(np.float32)
alone = np.concatenate([X[i:i + 1] @ W for i in range(8)])
together = X @ W
print(f"row i of X @ W computed alone vs in a batch of 8: max difference "
      f"{np.abs(alone - together).max():.1e}")

# %% [markdown]
# A few 1e-6 is nothing for a classifier's probabilities, but greedy decoding takes an *argmax*: when
# two tokens are nearly tied, such a difference picks the other one, and from then on the texts differ.
# A request's answer would depend on what else the server was doing.  So each generation computes
# its own tokens; the step is shared, the arithmetic is not.  8 concurrent requests then give exactly
# the texts they give alone:

# %%
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

prompts = ["ROMEO:\n", "JULIET:\nO ", "First Citizen:\nBefore we proceed", "KING:\n", "A", "To be, or",
           "MENENIUS:\nWhat", "All:\n"]


def complete(prompt):
    return client.post("/v1/completions", json={"model": "shakespeare", "prompt": prompt, "max_tokens": 30,
                                                "temperature": 0}).json()["choices"][0]["text"]


solo = [complete(p) for p in prompts]
with ThreadPoolExecutor(8) as pool:
    concurrent = list(pool.map(complete, prompts))
print("8 concurrent greedy completions equal 8 sequential ones:", concurrent == solo)
print("\n".join(f"  {p!r} -> {t!r}" for p, t in zip(prompts[:3], solo[:3])))
assert concurrent == solo and len(set(solo)) > 1          # (and the model does not say the same everywhere)

# %% [markdown]
# ## 4. Dynamic batching of classification requests
#
# Classification is different: one forward pass over a padded batch gives each text the numbers it
# gets alone (the attention mask hides the padding; differences stay at float rounding, far from
# any decision).  And a batch is much cheaper per text than one pass per text, because each layer is
# one matrix product for all rows and the engine's per-op cost is paid once:

# %%
from tinygrad_edu.serve.classify import classify_texts  # noqa: E402

sentiment = models["sentiment"].run
texts = [f"a {'very ' * (i % 5)}good and moving film number {i}" for i in range(64)]
timings = {}
for size in (1, 2, 4, 8, 16, 32, 64):
    start = time.perf_counter()
    with tg.no_grad():
        for i in range(0, 64, size):
            classify_texts(sentiment, texts[i:i + size])
    timings[size] = (time.perf_counter() - start) / 64 * 1e3
    print(f"batch {size:2d}: {timings[size]:.2f} ms per text")
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(list(timings), list(timings.values()), "o-")
ax.set_xscale("log", base=2)
ax.set_xlabel("texts per forward pass")
ax.set_ylabel("ms per text")
ax.set_title("why the server batches concurrent requests")
fig.tight_layout()
fig.savefig(OUTPUT / "11_batching.png", dpi=110)
plt.close(fig)
show(OUTPUT / "11_batching.png")
assert timings[32] < timings[1]

# %% [markdown]
# The server does not know which requests will come, so it *waits a little*: an input that finds the
# compute thread busy waits up to `max_wait_ms` (here 20) for others, and they run as one batch.  An
# input that finds it idle runs at once — a lone request pays no delay.  Sixteen concurrent requests,
# and the batch counter of `/metrics`:

# %%


def batches_so_far():
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("tinygrad_edu_batches_total"):
            return int(float(line.split()[-1]))


def classify(text):
    return client.post("/v1/classify", json={"model": "sentiment", "input": text}).json()["data"][0]


before = batches_so_far()
with ThreadPoolExecutor(16) as pool:
    together = list(pool.map(classify, texts[:16]))
ran = batches_so_far() - before
alone = [classify(t) for t in texts[:16]]
worst = max(abs(a["probabilities"][k] - b["probabilities"][k])
            for a, b in zip(alone, together) for k in a["probabilities"])
print(f"16 concurrent requests ran in {ran} batches; largest difference from solo answers {worst:.1e}")
assert ran < 16 and worst < 1e-6

# %% [markdown]
# ## 5. What the server tells its operator
#
# `/metrics` is Prometheus' text format: counters (requests by endpoint and status, tokens
# generated), a latency histogram (how many requests took at most 5 ms, 10 ms, ...), gauges (requests
# in flight, jobs queued).  A monitoring system scrapes it every few seconds.

# %%
metrics = client.get("/metrics").text
print("\n".join(line for line in metrics.splitlines()
                if line.startswith(("tinygrad_edu_requests_total", "tinygrad_edu_tokens",
                                    "tinygrad_edu_request_seconds_count"))))
client.__exit__(None, None, None)
print(f"tutorial 11 finished in {time.perf_counter() - START:.1f} s")
