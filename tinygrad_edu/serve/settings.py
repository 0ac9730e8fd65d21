"""The server's limits, in one place: what ``serve``'s options set and every handler reads."""
from dataclasses import dataclass


@dataclass
class ServeSettings:
    """Limits of one server.

    * ``max_body_bytes``: a request body larger than this is refused with 413 before it is read whole;
    * ``max_concurrent``: requests being handled at once (``/health`` and ``/metrics`` not counted);
      one more is answered 429 with ``Retry-After``;
    * ``request_timeout_s``: a request not finished by then is answered 504 (a stream is ended);
    * ``max_tokens_limit``: the largest ``max_tokens`` a completion may ask for (400 above);
    * ``max_batch``, ``max_wait_ms``: dynamic batching — a batch of classification requests is run
      when it holds ``max_batch`` inputs or its first request has waited ``max_wait_ms``;
    * ``batching``: False runs each request alone (the benchmark's comparison);
    * ``max_texts``: texts per ``/v1/classify`` request;
    * ``log_requests``: one line per request on stderr."""
    max_body_bytes: int = 8 * 1024 * 1024
    max_concurrent: int = 64
    request_timeout_s: float = 60.0
    max_tokens_limit: int = 1024
    max_batch: int = 32
    max_wait_ms: float = 5.0
    batching: bool = True
    max_texts: int = 64
    log_requests: bool = True
