"""``python -m tinygrad_edu serve RUN [RUN...]``: trained runs behind an HTTP API clients already speak.

    python -m tinygrad_edu serve runs/gpt_shakespeare runs/sst2 --port 8000
    curl http://127.0.0.1:8000/v1/completions -H 'Content-Type: application/json' \\
         -d '{"model": "gpt_shakespeare", "prompt": "ROMEO:", "max_tokens": 50, "seed": 1}'

Each RUN is one model, named after its folder (``--name`` to choose): GPT runs answer
``/v1/completions`` (OpenAI's API, also streamed), SST-2 runs ``/v1/classify``, NER runs ``/v1/ner``,
image runs ``/v1/images/classify``; ``/v1/models``, ``/health`` and ``/metrics`` describe the server
(``tinygrad_edu/serve/``).  It listens on 127.0.0.1 unless ``--host`` says otherwise, logs one line per
request on stderr, and on SIGINT or SIGTERM stops accepting connections, lets the requests in flight
finish (up to ``--shutdown-timeout`` seconds, then cancels them) and exits 0.

Needs the ``serve`` extra: ``pip install -e '.[serve]'`` (Starlette and uvicorn).
"""
import signal

from . import UsageError
from .checks import nonnegative_float, positive_float, positive_int

HELP = "serve runs over HTTP: OpenAI-compatible completions, classification, NER, images"


def add_arguments(parser):
    parser.add_argument("runs", metavar="RUN", nargs="+", help="run folders (or checkpoint files) to serve")
    parser.add_argument("--name", action="append", default=None, metavar="NAME",
                        help="the model name of each RUN, in order (default: the folder's name)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes "
                             "the server to the network)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--max-concurrent", type=positive_int, default=64, metavar="N",
                        help="requests handled at once; more get 429 with Retry-After (default 64)")
    parser.add_argument("--timeout", type=positive_float, default=60.0, metavar="S",
                        help="seconds a request may take before it gets 504 (default 60)")
    parser.add_argument("--max-body-bytes", type=positive_int, default=8 * 1024 * 1024, metavar="B",
                        help="largest request body; larger gets 413 (default 8 MiB)")
    parser.add_argument("--max-tokens-limit", type=positive_int, default=1024, metavar="N",
                        help="largest max_tokens a completion may ask for (default 1024)")
    parser.add_argument("--max-batch", type=positive_int, default=32, metavar="N",
                        help="inputs per dynamic classification batch (default 32)")
    parser.add_argument("--max-wait-ms", type=nonnegative_float, default=5.0, metavar="MS",
                        help="how long the first request of a batch waits for others (default 5)")
    parser.add_argument("--no-batching", action="store_true", help="classify each request alone")
    parser.add_argument("--shutdown-timeout", type=positive_float, default=10.0, metavar="S",
                        help="on SIGINT/SIGTERM, seconds to let requests in flight finish (default 10)")
    parser.add_argument("--quiet", action="store_true", help="no line per request")


def _port(text):
    import argparse
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"expected a TCP port 1..65535, got {text!r}")
    return value


def run(args):
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise UsageError(f"serve needs Starlette and uvicorn ({exc.name} is missing): "
                         "pip install -e '.[serve]'") from None
    import socket

    from ..serve.app import create_app
    from ..serve.registry import RegistryError, load_models
    from ..serve.settings import ServeSettings
    try:
        models = load_models(args.runs, args.name)
    except RegistryError as exc:
        raise UsageError(str(exc)) from None
    settings = ServeSettings(max_body_bytes=args.max_body_bytes, max_concurrent=args.max_concurrent,
                             request_timeout_s=args.timeout, max_tokens_limit=args.max_tokens_limit,
                             max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                             batching=not args.no_batching, log_requests=not args.quiet)
    try:                                           # a port in use is one line, before uvicorn starts
        probe = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((args.host, args.port))
        probe.close()
    except OSError as exc:
        raise UsageError(f"--port {args.port}: cannot listen on {args.host}:{args.port} "
                         f"({exc.strerror})") from None
    for model in models.values():
        print(f"serving {model.name} ({model.kind}, {model.endpoint}) from {model.path}", flush=True)
    print(f"listening on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    config = uvicorn.Config(create_app(models, settings), host=args.host, port=args.port, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=args.shutdown_timeout, lifespan="on")
    server = _server_class(uvicorn)(config)
    server.run()
    how = f" ({signal.Signals(server.stopped_by).name})" if server.stopped_by else ""
    print(f"server stopped{how}", flush=True)
    return 0


def _server_class(uvicorn):
    """uvicorn's Server, except that SIGINT/SIGTERM end it with exit code 0: uvicorn shuts down
    gracefully and then raises the signal again (a KeyboardInterrupt, or death by SIGTERM), which for a
    server asked to stop is not an error.  A second SIGINT still forces the exit."""

    class Server(uvicorn.Server):
        stopped_by = None

        def handle_exit(self, sig, frame):
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            else:
                self.should_exit = True
            self.stopped_by = sig

    return Server
