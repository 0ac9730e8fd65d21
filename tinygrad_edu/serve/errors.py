"""Errors as JSON: one shape for every failure, with the HTTP status that says whose fault it is.

OpenAI's API answers ``{"error": {"message": ..., "type": ..., "param": ..., "code": ...}}``; its Python
client turns the status into an exception class (400 ``BadRequestError``, 404 ``NotFoundError``, 422
``UnprocessableEntityError``, 429 ``RateLimitError``, ...), so a client sees *why* in one line.
"""
from starlette.responses import JSONResponse

TYPES = {400: "invalid_request_error", 404: "not_found_error", 405: "invalid_request_error",
         413: "request_too_large", 415: "invalid_request_error", 422: "invalid_request_error",
         429: "rate_limit_error", 500: "server_error", 503: "server_error", 504: "timeout_error"}


class ApiError(Exception):
    """A request that cannot be answered: ``status`` (400, 404, 413, 422, 429, 504 ...), a one-line
    ``message`` naming the field and the value, the field (``param``) and extra response headers."""

    def __init__(self, status, message, param=None, headers=None, code=None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.headers, self.code = dict(headers or {}), code

    def response(self):
        body = {"error": {"message": self.message, "type": TYPES.get(self.status, "invalid_request_error"),
                          "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def invalid(message, param=None):
    """422: the body is not what the endpoint takes (a missing field, a wrong type)."""
    return ApiError(422, message, param)


def field(body, name, kind, default=..., who="request"):
    """``body[name]`` checked to be of ``kind`` (a type or tuple of types; bool is never an int), or
    ``default`` when absent (no default: the field is required)."""
    if name not in body or body[name] is None:
        if default is ...:
            raise invalid(f"{who}: the field '{name}' is required", name)
        return default
    value = body[name]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise invalid(f"{who}: '{name}' must be {_names(kinds)}, got a boolean", name)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kinds):
        shown = f"{type(value).__name__} {value!r}"[:200]
        raise invalid(f"{who}: '{name}' must be {_names(kinds)}, got {shown}", name)
    return value


def _names(kinds):
    names = {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object",
             bool: "a boolean"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
