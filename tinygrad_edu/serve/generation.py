"""The decode scheduler: every generation in progress advances by one token per step.

A completion request does not get the compute thread to itself until its text is done: that would
make a 1000-token request hold up every other one, and a stream would stall whenever another
request runs.  Instead the server keeps one list of *active generations* and runs **steps**: one
job on the compute worker (``worker.py``) in which every active generation draws its next token.

    step:  for each new generation:     start model.generate_stream(prompt, max_tokens, ...)
                                        and take its first token (this runs the prompt: the prefill)
           for each running generation: take one more token (one position through the network,
                                        with its own KV cache)
           hand each token to its request; drop the finished and the cancelled ones

So a request that arrives while others are decoding waits at most one step to start, every
generation streams at the same pace, and a short request is never stuck behind a long one.

**Design decision: per-request arithmetic, shared steps — not one batched matrix product.**  The
tokens of a step are computed by each generation's own ``GPT.generate_stream`` (batch 1, its own KV
cache and its own random generator ``np.random.default_rng(seed)``), one after another inside the
step, instead of stacking every request's position into one (B, C) matrix.  Batching would save
time, but BLAS results depend on the batch shape: measured on this machine, a (B, 384) @ (384, 65)
product differs by up to 4e-6 between B = 1 and B = 8 (OpenBLAS uses a matrix-vector kernel for one
row and matrix-matrix kernels with shape-dependent blocking for several).  Greedy decoding takes an
argmax, and a 4e-6 change can flip a near-tie — so a request's tokens would depend on what else
shares its step (the same effect is reported for vLLM, vllm-project/vllm#1761).  With one
``generate_stream`` per request, a generation computes exactly what it computes alone, whatever
shares the step: "the same tokens as a solo request" holds by construction, for greedy and for
seeded sampling, and the shared step still gives fairness and streaming.

**Seeds.**  A request with ``seed`` s and ``n`` choices decodes choice i with
``np.random.default_rng(s + i)``; a request without a seed draws one s from the server's own random
generator (not reported), so it is still n independent samples.

**Stopping.**  A generation ends when it has ``max_tokens`` tokens (``finish_reason`` "length") or its
text contains one of the ``stop`` strings (``finish_reason`` "stop"; the text is returned up to, not
including, the first stop string).  While streaming, the end of the text that could be the start
of a stop string is held back until the next tokens decide, so the streamed pieces always
concatenate to the non-streamed text.

**Cancellation.**  A request marks its ``Completion`` cancelled (client gone, time limit); the next
step drops its generations and closes their Python generators (freeing their KV caches), so a
disconnected client costs at most a step or two of work.
"""
import asyncio

import numpy as np

from .errors import ApiError

#: the largest seed drawn for a request that gives none (any seed below 2**63 is valid)
SEED_LIMIT = 2 ** 63 - 1 - 8


class Choice:
    """One of a request's ``n`` generations: its Python generator (``stream``, made on the compute
    thread at its first step), its tokens so far and its text."""

    def __init__(self, completion, index, seed):
        self.completion, self.index, self.seed = completion, index, seed
        self.stream = None
        self.count = 0                 # tokens generated
        self.text = ""                 # their text (cut at a stop string once one appears)
        self.sent = 0                  # characters of ``text`` handed to the request
        self.finish_reason = None

    def add(self, token):
        """Take one generated token; the event ``(index, new text, finish_reason or None)`` to hand
        to the request, or None when nothing can be handed out yet (held back for ``stop``)."""
        completion = self.completion
        piece = completion.decode([token])
        self.count += 1
        self.text += piece
        cut = _first_stop(self.text, completion.stop, len(piece))
        if cut is not None:
            self.text, self.finish_reason = self.text[:cut], "stop"
        elif self.count >= completion.max_tokens:
            self.finish_reason = "length"
        end = len(self.text)
        if not self.finish_reason:
            end -= _held_back(self.text, completion.stop)
        if end <= self.sent and not self.finish_reason:
            return None
        event = (self.index, self.text[self.sent:end], self.finish_reason)
        self.sent = max(self.sent, end)
        return event


def _first_stop(text, stops, new):
    """Where the earliest stop string that overlaps the last ``new`` characters of ``text`` starts
    (earlier text has been searched already), or None."""
    found = [i for s in stops for i in [text.find(s, max(0, len(text) - new - len(s) + 1))] if i >= 0]
    return min(found) if found else None


def _held_back(text, stops):
    """How many characters at the end of ``text`` could be the start of a stop string (so they
    must not be streamed yet): the longest suffix that is a proper prefix of one of ``stops``."""
    longest = 0
    for s in stops:
        for k in range(min(len(s) - 1, len(text)), longest, -1):
            if s.startswith(text[-k:]):
                longest = k
                break
    return longest


class Completion:
    """One completion request: ``n`` generations of the same prompt, feeding one ``asyncio.Queue``
    of events ``(choice index, text piece, finish_reason or None)``.

    ``model``: the GPT; ``prompt_ids``: its token ids (a list); ``decode``: token ids → text;
    ``seeds``: one per choice."""

    def __init__(self, model, prompt_ids, decode, max_tokens, temperature=1.0, top_k=None, top_p=None,
                 seeds=(0,), stop=()):
        self.model, self.prompt_ids, self.decode = model, list(prompt_ids), decode
        self.max_tokens, self.temperature, self.top_k, self.top_p = max_tokens, temperature, top_k, top_p
        self.stop = [s for s in stop if s]
        self.queue = asyncio.Queue()
        self.choices = [Choice(self, i, seed) for i, seed in enumerate(seeds)]
        self.cancelled = False
        self._left = len(self.choices)

    @property
    def prompt_tokens(self):
        return len(self.prompt_ids)

    @property
    def completion_tokens(self):
        """Tokens generated over all choices (those cut off by a stop string included: they were computed)."""
        return sum(c.count for c in self.choices)

    @property
    def done(self):
        return self._left == 0

    def cancel(self):
        """Stop generating for this request (its choices are dropped at the next step)."""
        self.cancelled = True

    async def next_event(self):
        """The next ``(index, piece, finish_reason)``; raises the error a generation ran into."""
        item = await self.queue.get()
        if isinstance(item, BaseException):
            self._left = 0
            raise item
        if item[2] is not None:
            self._left -= 1
        return item

    def start(self, choice):
        """On the compute thread: the Python generator of ``choice`` (its own KV cache and RNG)."""
        return self.model.generate_stream(np.asarray([self.prompt_ids], np.int64), self.max_tokens,
                                          temperature=self.temperature, top_k=self.top_k, top_p=self.top_p,
                                          generator=np.random.default_rng(choice.seed))


def _step(closing, choices):
    """One decode step, on the compute thread: close the generators of ``closing``, then one token for
    each of ``choices`` (starting the new ones).  Per choice: the token id, or the exception raised."""
    for stream in closing:
        stream.close()
    out = []
    for choice in choices:
        try:
            if choice.stream is None:
                choice.stream = choice.completion.start(choice)
            out.append(int(next(choice.stream)[0]))
        except Exception as exc:  # noqa: BLE001  (handed to that request only)
            out.append(exc)
    return out


class DecodeScheduler:
    """The loop that runs decode steps while any generation is active (one per server, made on the
    first completion request: ``scheduler(state)``)."""

    def __init__(self, worker, metrics):
        self.worker, self.metrics = worker, metrics
        self.waiting = []             # Completions submitted, not started
        self.active = []              # Choices being decoded
        self.closing = []             # generators to close at the next step
        self.steps = 0
        self.closed = False
        self._seeds = np.random.default_rng()
        self._wake = asyncio.Event()
        self._task = None

    def new_seed(self):
        """A seed for a request that gives none."""
        return int(self._seeds.integers(0, SEED_LIMIT))

    def submit(self, completion):
        """Queue ``completion``: its generations join at the next step."""
        if self.closed:
            raise ApiError(503, "the server is shutting down")
        self.waiting.append(completion)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    @property
    def depth(self):
        """Generations active or waiting to start."""
        return len(self.active) + sum(len(c.choices) for c in self.waiting)

    async def _run(self):
        while not self.closed:
            if not (self.waiting or self.active or self.closing):
                self._wake.clear()
                await self._wake.wait()
                continue
            new = [choice for c in self.waiting if not c.cancelled for choice in c.choices]
            self.waiting = []
            for choice in self.active:
                if choice.completion.cancelled:
                    self.closing.append(choice.stream)
            self.active = [c for c in self.active if not c.completion.cancelled] + new
            plan, closing, self.closing = list(self.active), self.closing, []
            try:
                results = await self.worker.run(_step, closing, plan)
            except Exception as exc:  # noqa: BLE001  (the step itself failed: every request hears of it)
                results = [exc] * len(plan)
            self.steps += 1
            produced = 0
            for choice, token in zip(plan, results):
                completion = choice.completion
                if isinstance(token, BaseException):
                    if not isinstance(token, ApiError):
                        token = ApiError(500, f"generation failed: {type(token).__name__}: {token}")
                    completion.cancel()
                    completion.queue.put_nowait(token)
                    continue
                produced += 1
                if completion.cancelled:
                    continue
                event = choice.add(token)
                if event is not None:
                    completion.queue.put_nowait(event)
            self.metrics.add_tokens(produced)
            still = []
            for choice in self.active:
                if choice.finish_reason is None and not choice.completion.cancelled:
                    still.append(choice)
                elif choice.stream is not None:
                    self.closing.append(choice.stream)
            self.active = still

    async def close(self):
        """At shutdown: stop the loop; requests still waiting get a 503 error event."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        gone = ApiError(503, "the server shut down before the generation finished")
        for completion in {id(c.completion): c.completion for c in self.active}.values():
            completion.queue.put_nowait(gone)
        for completion in self.waiting:
            completion.queue.put_nowait(gone)
        self.active, self.waiting = [], []


def scheduler(state):
    """The server's decode scheduler (``state.helpers["generation"]``), made on first use."""
    helper = state.helpers.get("generation")
    if helper is None:
        helper = state.helpers["generation"] = DecodeScheduler(state.worker, state.metrics)
    return helper
