"""``POST /v1/completions`` (and ``/v1/chat/completions``): OpenAI's API for GPT runs, streamed or not.

    curl http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \\
         -d '{"prompt": "ROMEO:", "max_tokens": 50, "temperature": 0.8, "seed": 1}'

    from openai import OpenAI
    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="unused")
    print(client.completions.create(model="gpt_shakespeare", prompt="ROMEO:", max_tokens=50).choices[0].text)

The request (OpenAI's fields; the others are ignored, and ones that would change the answer but are
not implemented — ``logprobs``, ``suffix``, ``logit_bias``, penalties, ``best_of`` — are refused):

==================  ==========================================================================
``model``           the served GPT's name (may be left out when the server serves exactly one)
``prompt``          the text to continue: a string, or a list holding one string
``max_tokens``      tokens (characters) to generate, 0..``--max-tokens-limit`` (default 16)
``temperature``     0..2 (default 1): logits / T before the softmax; 0 = greedy (argmax)
``top_p``           (0, 1]: draw only among the likeliest tokens whose probabilities reach p
``top_k``           >= 1: draw only among the k likeliest (not OpenAI's, but llama.cpp and vLLM's)
``seed``            >= 0: the same seed and settings give the same text (choice i uses seed + i)
``stop``            a string or up to 4: the text ends before the first one (finish_reason "stop")
``n``               1..8 independent completions of the prompt
``stream``          true: server-sent events, one ``data: {chunk}`` per piece, then ``data: [DONE]``
``echo``            true: the text starts with the prompt
``stream_options``  ``{"include_usage": true}``: a last chunk with ``usage`` and no choices
==================  ==========================================================================

The answer: ``{"id": "cmpl-...", "object": "text_completion", "created", "model", "choices": [{"text",
"index", "logprobs": null, "finish_reason": "length" | "stop"}], "usage": {"prompt_tokens",
"completion_tokens", "total_tokens"}}``.  A GPT run's tokens are characters, so a prompt's token
count is its length.  The prompt may be at most the model's context (``block_size``) long; the
generated text may go on past it (the model then sees the last ``block_size`` characters, as
``GPT.generate`` does).

Every token is computed by the decode scheduler (``generation.py``) on the compute thread, so a
request gets exactly what ``GPT.generate_stream`` gives in process, whatever else is running.

``POST /v1/chat/completions`` takes ``messages`` (``[{"role", "content"}, ...]``) instead of ``prompt``
(and ``max_completion_tokens`` as another name of ``max_tokens``; no ``echo``): a character-level GPT
knows no chat template, so the messages are laid out as the speeches of a play, the one dialogue
format Tiny Shakespeare taught it (``chat_prompt``: ``"USER:\nWho art thou?\n\nASSISTANT:\n"``), and
the answer is OpenAI's chat shape (``message`` / ``delta`` instead of ``text``).

**Time limit.**  A non-streamed request not done after ``--timeout`` seconds gets 504.  A stream has
already answered 200 by then, so it ends with an error event ``data: {"error": {..., "type":
"timeout_error"}}`` and ``data: [DONE]`` (the OpenAI client raises ``APIError`` on it) instead of
pretending the text ended normally.  **Disconnects.**  When a streaming client goes away, Starlette
cancels the response; its generation is cancelled and dropped at the next decode step.
"""
import asyncio
import json
import time
import uuid

from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from .app import read_json
from .errors import ApiError, field, invalid
from .generation import Completion, scheduler

MAX_N = 8
MAX_STOPS = 4
#: fields of OpenAI's API that this server does not implement, with the values that mean "not used"
UNSUPPORTED = {"suffix": (None, ""), "logprobs": (None, 0, False), "logit_bias": (None, {}),
               "presence_penalty": (None, 0), "frequency_penalty": (None, 0), "best_of": (None, 1)}


def bad(message, param):
    """400: a value of the right type the model cannot take (out of range, unknown characters)."""
    return ApiError(400, message, param)


def parse(state, body, chat=False):
    """The validated request: (served model, a dict of the settings).  ``chat``: a chat completion
    (``messages`` instead of ``prompt``)."""
    who = "chat completions" if chat else "completions"
    name = field(body, "model", str, default=None, who=who)
    if name is None:
        name = state.default_model("completion")
        if name is None:
            known = ", ".join(n for n, m in sorted(state.models.items()) if m.kind == "completion") or "none"
            raise invalid(f"{who}: the field 'model' is required when the server does not serve exactly "
                          f"one GPT model (served: {known})", "model")
    served = state.model(name, "completion")
    for key, unused in UNSUPPORTED.items():
        if key in body and body[key] not in unused:
            raise bad(f"{who}: '{key}' is not supported by this server (got {body[key]!r})"[:300], key)

    prompt = chat_prompt(body) if chat else field(body, "prompt", (str, list), who=who)
    if isinstance(prompt, list):
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise invalid(f"{who}: 'prompt' must be a string or a list of one string (one request per "
                          f"prompt; token-id prompts are not supported), got a list of {len(prompt)} "
                          f"{'items' if len(prompt) != 1 else type(prompt[0]).__name__}", "prompt")
        prompt = prompt[0]
    ids = prompt_ids(served, prompt, "messages" if chat else "prompt")
    settings = {"prompt": prompt, "ids": ids, "chat": chat}

    limit = state.settings.max_tokens_limit
    tokens_field = "max_completion_tokens" if chat and "max_completion_tokens" in body else "max_tokens"
    max_tokens = field(body, tokens_field, int, default=16, who=who)
    if not 0 <= max_tokens <= limit:
        raise bad(f"{who}: '{tokens_field}' must be between 0 and the server's limit of {limit}, "
                  f"got {max_tokens}", tokens_field)
    temperature = field(body, "temperature", float, default=1.0, who=who)
    if not 0 <= temperature <= 2:
        raise bad(f"{who}: 'temperature' must be between 0 and 2 (0 = greedy), got {temperature}",
                  "temperature")
    top_p = field(body, "top_p", float, default=None, who=who)
    if top_p is not None and not 0 < top_p <= 1:
        raise bad(f"{who}: 'top_p' must be in (0, 1], got {top_p}", "top_p")
    top_k = field(body, "top_k", int, default=None, who=who)
    if top_k is not None and top_k < 1:
        raise bad(f"{who}: 'top_k' must be >= 1 (or null: all tokens), got {top_k}", "top_k")
    seed = field(body, "seed", int, default=None, who=who)
    if seed is not None and not 0 <= seed <= 2 ** 63 - 1 - MAX_N:
        raise bad(f"{who}: 'seed' must be between 0 and 2**63 - 9, got {seed}", "seed")
    n = field(body, "n", int, default=1, who=who)
    if not 1 <= n <= MAX_N:
        raise bad(f"{who}: 'n' must be between 1 and {MAX_N}, got {n}", "n")
    stop = field(body, "stop", (str, list), default=[], who=who)
    stop = [stop] if isinstance(stop, str) else stop
    if not all(isinstance(s, str) for s in stop):
        raise invalid(f"{who}: 'stop' must be a string or a list of strings, got {stop!r}"[:300], "stop")
    if len(stop) > MAX_STOPS or "" in stop:
        raise bad(f"{who}: 'stop' takes at most {MAX_STOPS} non-empty strings, got {stop!r}"[:300], "stop")
    stream = field(body, "stream", bool, default=False, who=who)
    echo = False if chat else field(body, "echo", bool, default=False, who=who)
    options = field(body, "stream_options", dict, default={}, who=who)
    include_usage = field(options, "include_usage", bool, default=False, who=f"{who} stream_options")
    settings.update(max_tokens=max_tokens, temperature=temperature, top_p=top_p, top_k=top_k, seed=seed, n=n,
                    stop=stop, stream=stream, echo=echo, include_usage=include_usage)
    return served, settings


def chat_prompt(body):
    """The prompt of a chat completion: the ``messages`` laid out as the speeches of a play, the way
    Tiny Shakespeare writes them (a character-level GPT knows no other dialogue format), then the
    assistant's turn::

        USER:
        Who art thou?

        ASSISTANT:
    """
    who = "chat completions"
    messages = field(body, "messages", list, who=who)
    if not messages:
        raise invalid(f"{who}: 'messages' must hold at least one message", "messages")
    parts = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid(f"{who}: messages[{i}] must be an object with 'role' and 'content', "
                          f"got {type(message).__name__}", "messages")
        role = field(message, "role", str, who=f"{who} messages[{i}]")
        content = field(message, "content", str, who=f"{who} messages[{i}]")
        parts.append(f"{role.upper()}:\n{content}\n\n")
    return "".join(parts) + "ASSISTANT:\n"


def prompt_ids(served, prompt, param="prompt"):
    """The prompt's token ids (as ``commands/generate.py`` makes them), with 400 for an empty prompt,
    characters outside the run's vocabulary (named) or a prompt longer than the model's context."""
    tokenizer = served.run.tokenizer
    who = "chat completions" if param == "messages" else "completions"
    if not prompt:
        raise bad(f"{who}: 'prompt' is empty; the model needs at least one character to continue",
                  param)
    unknown = sorted(set(prompt) - set(tokenizer.stoi))
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        shown = ", ".join(f"{c!r}" for c in unknown[:10]) + more
        raise bad(f"{who}: '{param}' has {len(unknown)} character(s) that are not in the vocabulary of "
                  f"model {served.name!r}: {shown} (it knows the {tokenizer.vocab_size} characters of its "
                  "training text)", param)
    context = int(served.run.model.config.block_size)
    if len(prompt) > context:
        raise bad(f"{who}: '{param}' {'make' if param == 'messages' else 'is'} a prompt of {len(prompt)} "
                  f"tokens, longer than the context of model {served.name!r} ({context} tokens)", param)
    return tokenizer.encode(prompt)


def _completion(state, served, settings):
    seed = settings["seed"]
    sched = scheduler(state)
    if seed is None:
        seed = sched.new_seed()
    return Completion(served.run.model, settings["ids"], served.run.tokenizer.decode, settings["max_tokens"],
                      settings["temperature"], settings["top_k"], settings["top_p"],
                      [seed + i for i in range(settings["n"])], settings["stop"])


def _usage(completion):
    prompt, done = completion.prompt_tokens, completion.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def routes(state):
    def handler(chat):
        async def complete(request):
            body = await read_json(request)
            served, settings = parse(state, body, chat)
            completion = _completion(state, served, settings)
            head = {"id": f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}",
                    "object": "chat.completion" if chat else "text_completion", "created": int(time.time()),
                    "model": served.name}
            if settings["stream"]:
                return StreamingResponse(_events(state, completion, settings, head),
                                         media_type="text/event-stream",
                                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
            texts, finish = await state.with_timeout(_collect(state, completion, settings))
            if chat:
                choices = [{"index": i, "message": {"role": "assistant", "content": t}, "logprobs": None,
                            "finish_reason": f} for i, (t, f) in enumerate(zip(texts, finish))]
            else:
                prefix = settings["prompt"] if settings["echo"] else ""
                choices = [{"text": prefix + t, "index": i, "logprobs": None, "finish_reason": f}
                           for i, (t, f) in enumerate(zip(texts, finish))]
            return JSONResponse({**head, "choices": choices, "usage": _usage(completion)})
        return complete

    return [Route("/v1/completions", handler(False), methods=["POST"]),
            Route("/v1/chat/completions", handler(True), methods=["POST"])]


async def _collect(state, completion, settings):
    """Every choice's whole text and finish_reason."""
    n = len(completion.choices)
    if settings["max_tokens"] == 0:
        return [""] * n, ["length"] * n
    texts, finish = [""] * n, [None] * n
    scheduler(state).submit(completion)
    try:
        while not completion.done:
            index, piece, reason = await completion.next_event()
            texts[index] += piece
            finish[index] = reason
    finally:
        completion.cancel()                 # a no-op when done; else (timeout) its generations are dropped
    return texts, finish


def _sse(value):
    return f"data: {json.dumps(value)}\n\n"


async def _events(state, completion, settings, head):
    """The server-sent events of a streamed completion (see the module docstring for the time limit)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + state.settings.request_timeout_s

    chat = settings["chat"]
    if chat:
        head = {**head, "object": "chat.completion.chunk"}

    def chunk(index, text, reason):
        if chat:
            choice = {"index": index, "delta": {"content": text} if text or reason is None else {},
                      "logprobs": None, "finish_reason": reason}
        else:
            choice = {"text": text, "index": index, "logprobs": None, "finish_reason": reason}
        return _sse({**head, "choices": [choice]})

    try:
        if settings["echo"]:
            for i in range(len(completion.choices)):
                yield chunk(i, settings["prompt"], None)
        if chat:                              # OpenAI's first chat chunk: the role, no content yet
            for i in range(len(completion.choices)):
                yield _sse({**head, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                                 "logprobs": None, "finish_reason": None}]})
        if settings["max_tokens"] == 0:
            for i in range(len(completion.choices)):
                yield chunk(i, "", "length")
        else:
            try:
                scheduler(state).submit(completion)
            except ApiError as exc:           # shutting down
                yield _sse(json.loads(exc.response().body))
                yield "data: [DONE]\n\n"
                return
            while not completion.done:
                try:
                    event = await asyncio.wait_for(completion.next_event(), max(0.0, deadline - loop.time()))
                except asyncio.TimeoutError:
                    limit = state.settings.request_timeout_s
                    error = ApiError(504, f"the request took longer than the server's limit of {limit:g} s")
                    yield _sse(json.loads(error.response().body))
                    break
                except ApiError as exc:
                    yield _sse(json.loads(exc.response().body))
                    break
                yield chunk(*event)
            else:
                if settings["include_usage"]:
                    yield _sse({**head, "choices": [], "usage": _usage(completion)})
        yield "data: [DONE]\n\n"
    finally:
        completion.cancel()                # the client went away, or the stream ended: drop its generations
