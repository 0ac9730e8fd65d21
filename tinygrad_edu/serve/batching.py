"""Dynamic batching: the inputs of concurrent classification requests run as one forward pass.

Why it helps
------------
A forward pass over N inputs costs far less than N passes over one input:

* every layer is a matrix product ``(N, d_in) @ (d_in, d_out)``.  With N = 1 BLAS streams the whole
  weight matrix from memory to do one row's arithmetic; with N = 32 it reads the same weights once
  and does 32 rows of arithmetic with them (a matrix-matrix product instead of 32 matrix-vector
  products), so the time grows much more slowly than N;
* the framework's cost per call — building each ``Tensor``, dispatching each operation in Python,
  tokenizing, the hop to the compute thread — is paid once per batch instead of once per input.

So the server does not run each request when it comes: it *collects* inputs for a moment and runs
them together.

The rule
--------
An input that finds the compute worker idle does not wait: it runs at once (with whatever arrived in
the same turn of the event loop), so a lone request pays no batching delay.  Otherwise the first input
that finds the queue empty starts a timer of ``max_wait_ms``, and the batch is run when

* it holds ``max_batch`` inputs (no point waiting longer: it is full),
* the timer fires (the first input has waited long enough), or
* a batch of this model finishes (the worker is free again: what waits goes next),

as ONE job on the compute worker, ``run_batch(inputs) -> results``; each request then gets its own
results back (one ``asyncio`` future per input).  A request with several inputs (a list of texts)
contributes them all; more than ``max_batch`` are split across batches.  Text batches are padded to
their longest sequence and the attention mask hides the padding, so an input's result does not
depend on what else shared its batch (up to float rounding, ≤ 1e-6).

The trade-off of ``max_wait_ms``
--------------------------------
Waiting adds up to ``max_wait_ms`` of *latency* to a lone request, and buys *throughput* under load:
the longer the wait, the fuller the batches and the more requests per second the same two cores
answer.  At 0 only the inputs that arrive in the same turn of the event loop are batched; a few
milliseconds (the default is 5) is small beside a forward pass and catches most of a burst.  With
``batching`` off, every request runs alone (its own inputs, ``max_batch`` at a time): the benchmark's
baseline.

An input whose request has gone (its time limit ran out, its client disconnected) is dropped before its
batch runs.  ``state.metrics.add_batch(size)`` counts every batch run, so ``/metrics`` shows how full
they are (``tinygrad_edu_batched_inputs_total / tinygrad_edu_batches_total``).
"""
import asyncio

from .errors import ApiError


class Batcher:
    """The dynamic batcher of one served model.

    ``run_batch(list_of_inputs) -> list_of_results`` runs on the compute thread (``state.worker``);
    ``await batcher.submit(inputs)`` returns the results of ``inputs``, in order."""

    def __init__(self, state, model, run_batch):
        self.state, self.model, self.run_batch = state, model, run_batch
        self._waiting = []                 # [(input, future)] not yet in a batch, oldest first
        self._timer = None                 # the pending flush of the oldest waiting input
        self._tasks = set()                # batches handed to the worker and not finished
        self._closed = False

    async def submit(self, inputs):
        """The results of ``inputs`` (a list), computed in batches with other requests' inputs."""
        inputs = list(inputs)
        if self._closed:
            raise ApiError(503, "the server is shutting down")
        if not inputs:
            return []
        if not self.state.settings.batching:
            return await self._alone(inputs)
        loop = asyncio.get_running_loop()
        futures = []
        for item in inputs:
            future = loop.create_future()
            self._waiting.append((item, future))
            futures.append(future)
        self._flush(everything=False)
        if self._waiting and self._timer is None:
            idle = self.state.worker.depth == 0 and not self._tasks
            # idle: run in this turn of the event loop (inputs arriving in the same turn join);
            # busy: wait for more, at most max_wait_ms
            delay = 0.0 if idle else self.state.settings.max_wait_ms / 1000.0
            self._timer = loop.call_later(delay, self._flush, True)
        try:
            return list(await asyncio.gather(*futures))
        except BaseException:
            for future in futures:             # the request is gone: drop the inputs not yet run
                future.cancel()
            raise

    async def _alone(self, inputs):
        """Without batching: this request's inputs only, ``max_batch`` at a time."""
        size, results = self.state.settings.max_batch, []
        for start in range(0, len(inputs), size):
            chunk = inputs[start:start + size]
            results += self._checked(chunk, await self.state.worker.run(self.run_batch, chunk))
            self.state.metrics.add_batch(len(chunk))
        return results

    def _flush(self, everything):
        """Start the full batches (all that wait, too, when the timer fired: ``everything``)."""
        if everything:
            self._timer = None
        self._waiting = [(item, future) for item, future in self._waiting if not future.done()]
        size = self.state.settings.max_batch
        while len(self._waiting) >= size or (everything and self._waiting):
            batch, self._waiting = self._waiting[:size], self._waiting[size:]
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if not self._waiting and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _run(self, batch):
        """One job on the compute worker for the whole batch; each input's future gets its result."""
        batch = [(item, future) for item, future in batch if not future.done()]
        if not batch:
            return
        items = [item for item, _ in batch]
        try:
            results = self._checked(items, await self.state.worker.run(self.run_batch, items))
        except Exception as exc:          # noqa: BLE001  (every request of the batch hears of it)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.state.metrics.add_batch(len(items))
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)
        if self._waiting and not self._closed:       # the worker is free: what waits goes now
            if self._timer is not None:
                self._timer.cancel()
            self._flush(everything=True)

    @staticmethod
    def _checked(items, results):
        results = list(results)
        if len(results) != len(items):
            raise RuntimeError(f"run_batch returned {len(results)} results for {len(items)} inputs")
        return results

    async def close(self):
        """At shutdown: refuse new inputs, fail the waiting ones (503), let running batches end."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _, future in self._waiting:
            if not future.done():
                future.set_exception(ApiError(503, "the server is shutting down"))
        self._waiting = []
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)


def batcher(state, served, run_batch):
    """The batcher of the served model ``served``, made on first use (``state.helpers``)."""
    key = f"batcher:{served.name}"
    if key not in state.helpers:
        state.helpers[key] = Batcher(state, served, run_batch)
    return state.helpers[key]
