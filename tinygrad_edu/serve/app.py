"""The application: routes, and the limits every request passes through.

A request goes through three layers (ASGI middleware, outermost first) before its handler:

1. **logging and metrics** — one line per request on stderr (client, method, path, status, seconds)
   and the counters of ``/metrics``;
2. **concurrency** — at most ``max_concurrent`` requests to ``/v1/...`` at once; one more gets 429 with
   ``Retry-After: 1`` at once, instead of waiting in a queue that only grows;
3. **body size** — the body is read up to ``max_body_bytes``; a larger one (announced by
   ``Content-Length`` or found while reading) gets 413 and is not read further.

Each handler then validates its JSON (422 for a missing field or a wrong type, naming it), finds
the model (404 if unknown, 400 if it serves another endpoint), and runs under ``request_timeout_s``
(504 after).  Every failure has the same JSON shape (``errors.py``).
"""
import asyncio
import contextlib
import json
import sys
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from .errors import ApiError, invalid
from .metrics import Metrics
from .settings import ServeSettings
from .worker import ComputeWorker


class ServerState:
    """What every handler shares: the models, the limits, the compute thread, the counters, and the
    per-feature helpers (the classification batchers, the generation scheduler) made on first use."""

    def __init__(self, models, settings=None):
        self.models = models
        self.settings = settings or ServeSettings()
        self.worker = ComputeWorker()
        self.metrics = Metrics()
        self.helpers = {}
        self.shutting_down = False

    def model(self, name, kind, param="model"):
        """The served model ``name`` for an endpoint of ``kind`` (404 unknown, 400 wrong endpoint)."""
        if not isinstance(name, str):
            raise invalid(f"'{param}' must be a string naming a served model", param)
        served = self.models.get(name)
        if served is None:
            known = ", ".join(sorted(self.models)) or "none"
            raise ApiError(404, f"model {name!r} is not served here (served: {known})", param,
                           code="model_not_found")
        if served.kind != kind:
            raise ApiError(400, f"model {name!r} is a {served.kind} model: use {served.endpoint}", param)
        return served

    def default_model(self, kind):
        """The name of the one model of ``kind``, when a request leaves ``model`` out."""
        names = [n for n, m in self.models.items() if m.kind == kind]
        if len(names) == 1:
            return names[0]
        return None

    async def with_timeout(self, awaitable):
        """``awaitable`` under the request time limit: 504 when it runs out."""
        try:
            return await asyncio.wait_for(awaitable, self.settings.request_timeout_s)
        except asyncio.TimeoutError:
            raise ApiError(504, f"the request took longer than the server's limit of "
                                f"{self.settings.request_timeout_s:g} s") from None


async def read_json(request):
    """The body as a JSON object (422 if it is not one)."""
    body = await request.body()
    try:
        value = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid(f"the body is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    if not isinstance(value, dict):
        raise invalid(f"the body must be a JSON object, got {type(value).__name__}")
    return value


# ------------------------------------------------------------------------------------------------
# the base routes
# ------------------------------------------------------------------------------------------------
def base_routes(state):
    async def health(request):
        status = "shutting_down" if state.shutting_down else "ok"
        body = {"status": status, "models": sorted(state.models), "queue_depth": state.worker.depth}
        return JSONResponse(body, status_code=503 if state.shutting_down else 200)

    async def models(request):
        return JSONResponse({"object": "list", "data": [m.describe() for m in state.models.values()]})

    async def model(request):
        name = request.path_params["name"]
        if name not in state.models:
            served = ", ".join(sorted(state.models))
            raise ApiError(404, f"model {name!r} is not served here (served: {served})", "model",
                           code="model_not_found")
        return JSONResponse(state.models[name].describe())

    async def metrics(request):
        return PlainTextResponse(state.metrics.render(state.worker.depth),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return [Route("/health", health, methods=["GET"]), Route("/v1/models", models, methods=["GET"]),
            Route("/v1/models/{name:path}", model, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"])]


# ------------------------------------------------------------------------------------------------
# middleware (plain ASGI, so that streaming responses pass through untouched)
# ------------------------------------------------------------------------------------------------
async def _send_error(send, error):
    response = error.response()
    await response({"type": "http"}, None, send)


class BodyLimit:
    """413 for a body over ``max_bytes``; otherwise the body, read whole, is replayed to the app."""

    def __init__(self, app, state):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            return await self.app(scope, receive, send)
        limit = self.state.settings.max_body_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        too_large = ApiError(413, f"the request body is larger than the server's limit of {limit} bytes")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _send_error(send, too_large)
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await _send_error(send, too_large)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()              # after the body: wait for the client to disconnect

        return await self.app(scope, replay, send)


class ConcurrencyLimit:
    """At most ``max_concurrent`` requests to ``/v1/`` at once; 429 with ``Retry-After`` beyond."""

    def __init__(self, app, state):
        self.app, self.state = app, state
        self.active = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["method"] == "GET":
            return await self.app(scope, receive, send)
        limit = self.state.settings.max_concurrent
        if self.active >= limit:
            busy = ApiError(429, f"the server is handling its limit of {limit} requests; retry later",
                            headers={"Retry-After": "1"})
            return await _send_error(send, busy)
        self.active += 1
        self.state.metrics.in_flight = self.active
        try:
            return await self.app(scope, receive, send)
        finally:
            self.active -= 1
            self.state.metrics.in_flight = self.active


class RequestLog:
    """One line per request on stderr, and the request counters and latency histogram."""

    def __init__(self, app, state):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status, started = time.perf_counter(), [500], [False]

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status[0], started[0] = message["status"], True
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running --shutdown-timeout s after SIGINT/SIGTERM: one
            # not answered yet gets 503; a stream under way just ends (the connection closes without
            # its last event).  Nothing else cancels a request from outside.
            if not started[0]:
                await _send_error(send_and_note, ApiError(503, "the server is shutting down"))
        finally:
            seconds = time.perf_counter() - start
            endpoint = scope["path"] if scope["path"] in KNOWN_PATHS else "other"
            self.state.metrics.observe(endpoint, status[0], seconds)
            if self.state.settings.log_requests:
                client = scope.get("client") or ("-", 0)
                print(f'{client[0]} "{scope["method"]} {scope["path"]}" {status[0]} {seconds:.3f}s',
                      file=sys.stderr, flush=True)


KNOWN_PATHS = {"/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions", "/v1/classify",
               "/v1/ner", "/v1/images/classify"}


# ------------------------------------------------------------------------------------------------
# the application
# ------------------------------------------------------------------------------------------------
async def _api_error(request: Request, exc: ApiError):
    return exc.response()


async def _not_found(request, exc):
    return ApiError(404, f"no endpoint {request.method} {request.url.path}").response()


async def _method_not_allowed(request, exc):
    return ApiError(405, f"{request.method} is not allowed on {request.url.path}").response()


def create_app(models, settings=None):
    """The Starlette application serving ``models`` (``{name: ServedModel}``) under ``settings``."""
    from starlette.middleware import Middleware

    from . import classify, completions
    state = ServerState(models, settings)
    routes = base_routes(state) + completions.routes(state) + classify.routes(state)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        state.shutting_down = True
        for helper in state.helpers.values():
            close = getattr(helper, "close", None)
            if close is not None:
                await close()
        state.worker.stop()

    app = Starlette(routes=routes, lifespan=lifespan,
                    middleware=[Middleware(RequestLog, state=state),
                                Middleware(ConcurrencyLimit, state=state),
                                Middleware(BodyLimit, state=state)],
                    exception_handlers={ApiError: _api_error, 404: _not_found, 405: _method_not_allowed})
    app.state.server = state
    return app
