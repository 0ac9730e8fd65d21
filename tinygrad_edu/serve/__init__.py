"""``tinygrad_edu.serve``: trained runs behind an HTTP API that clients already speak.

``python -m tinygrad_edu serve RUN [RUN...]`` starts one server (Starlette on uvicorn, the ``[serve]``
extra) for any number of run folders; each is one *model*, named after its folder:

=============================  ==============================================================
endpoint                       for
=============================  ==============================================================
``POST /v1/completions``       GPT runs: OpenAI's completions API (streamed with server-sent events)
``POST /v1/classify``          SST-2 runs: texts → label and probabilities
``POST /v1/ner``               CoNLL-2003 / WNUT-17 runs: text → entity spans with character offsets
``POST /v1/images/classify``   image runs: a PNG or JPEG upload → label and probabilities
``GET /v1/models``             what is served
``GET /health``, ``/metrics``  liveness; Prometheus counters, latency histogram, queue depth
=============================  ==============================================================

How it is built, one topic per file:

* ``settings.py`` — the limits (body size, concurrency, time per request, batch size and wait);
* ``errors.py`` — every failure is one JSON object ``{"error": {"message", "type", "param", "code"}}``
  with its HTTP status (OpenAI's shape, so its client raises the right exception);
* ``registry.py`` — run folders loaded once into ``ServedModel``s;
* ``worker.py`` — one compute thread: the engine's grad mode is global state, and two cores gain
  nothing from running two models at once, so every forward pass runs there, in order;
* ``batching.py`` — dynamic batching of classification requests;
* ``generation.py`` — the decode scheduler: every active generation advances by one token per step,
  each with its own KV cache and random generator;
* ``metrics.py`` — Prometheus text format;
* ``app.py`` — the routes, the limits as middleware, request logging.
"""
