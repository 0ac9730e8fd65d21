"""One compute thread for every model of the server.

The HTTP side is asynchronous (one event loop handles every connection); the model side is plain,
blocking NumPy.  Between them sits one thread that runs compute jobs in the order they come:

* the engine's grad mode (``no_grad``) is process-wide state, so two threads running models at once
  could switch it under each other;
* on a 2-core machine one forward pass already uses the BLAS threads; two at once only contend.

``await worker.run(fn, *args)`` queues ``fn(*args)`` and resumes the caller (the event loop stays
free meanwhile) with its result or its exception.  ``depth`` is how many jobs wait: the queue depth
``/metrics`` reports.
"""
import asyncio
import queue
import threading


class ComputeWorker:
    """A thread that runs the jobs submitted with ``run`` one after another."""

    def __init__(self, name="tinygrad_edu-compute"):
        self._jobs = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def depth(self):
        """Jobs submitted and not finished (the one running included)."""
        return self._pending

    def _loop(self):
        from .. import no_grad
        while True:
            job = self._jobs.get()
            if job is None:
                return
            loop, future, fn, args = job
            try:
                with no_grad():
                    result = fn(*args)
            except BaseException as exc:  # noqa: BLE001  (handed to the awaiting request)
                loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                loop.call_soon_threadsafe(_set_result, future, result)
            finally:
                with self._lock:
                    self._pending -= 1

    async def run(self, fn, *args):
        """``fn(*args)`` on the compute thread, under ``no_grad``; its result (or exception)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._lock:
            self._pending += 1
        self._jobs.put((loop, future, fn, args))
        return await future

    def stop(self):
        """Let the thread finish the queued jobs and end."""
        self._jobs.put(None)
        self._thread.join(timeout=10)


def _set_result(future, value):
    if not future.done():                 # the request may have been cancelled (timeout, disconnect)
        future.set_result(value)


def _set_exception(future, exc):
    if not future.done():
        future.set_exception(exc)
