"""Typed gateway errors, and the one place where upstream failures become HTTP statuses.

Every error the gateway answers with is a `GatewayError`: an HTTP status plus OpenAI's error
body `{"error": {"message", "type", "code"}}`. Upstream failures arrive in three forms, all
mapped here:

- a gRPC status of the whole RPC (real OVMS ends a stream naming an unknown or unready graph
  that way; an unreachable server is UNAVAILABLE): `from_grpc_status`;
- an in-band error in the servable's final `end_signal`
  (`{"error": {"code": "<gRPC status name>", "message"}, "finish_reason": "error"}`):
  `from_grpc_status` on its code;
- a stream `error_message` (the server's own refusal of a request on an open stream, in
  OVMS's words: a busy node, another graph, malformed inputs): text only, so
  `status_name_of_stream_message` reads the status from that wording.
"""

from __future__ import annotations

__all__ = [
    "GatewayError", "BadRequestError", "UnauthorizedError", "ModelNotFoundError",
    "PayloadTooLargeError", "RateLimitedError",
    "OverloadedError", "UnavailableError", "UpstreamError", "UpstreamTimeoutError",
    "from_grpc_status", "status_name_of_stream_message", "HTTP_STATUS_OF_GRPC",
]


class GatewayError(Exception):
    """An error answered to the client as OpenAI does: status + {"error": {...}}."""

    status = 500
    type = "server_error"
    code = "internal_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "code": self.code,
                          "param": None}}

    def headers(self) -> dict[str, str]:
        return {}


class BadRequestError(GatewayError):
    status, type, code = 400, "invalid_request_error", "invalid_request"


class UnauthorizedError(GatewayError):
    status, type, code = 401, "invalid_request_error", "invalid_api_key"


class ModelNotFoundError(GatewayError):
    status, type, code = 404, "invalid_request_error", "model_not_found"


class PayloadTooLargeError(GatewayError):
    status, type, code = 413, "invalid_request_error", "request_too_large"


class RateLimitedError(GatewayError):
    """This client sent more requests than --rate_limit allows; Retry-After says when to."""

    status, type, code = 429, "rate_limit_error", "rate_limit_exceeded"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class OverloadedError(GatewayError):
    status, type, code = 429, "rate_limit_error", "server_busy"


class UnavailableError(GatewayError):
    status, type, code = 503, "server_error", "service_unavailable"


class UpstreamError(GatewayError):
    """The model server failed (or broke the wire contract) while answering."""

    status, type, code = 500, "server_error", "upstream_error"


class UpstreamTimeoutError(GatewayError):
    status, type, code = 504, "server_error", "upstream_timeout"


_ERROR_OF_GRPC = {
    "INVALID_ARGUMENT": BadRequestError,
    "NOT_FOUND": ModelNotFoundError,
    "RESOURCE_EXHAUSTED": OverloadedError,
    "UNAVAILABLE": UnavailableError,
}
HTTP_STATUS_OF_GRPC = {name: cls.status for name, cls in _ERROR_OF_GRPC.items()}


def from_grpc_status(name: str | None, message: str) -> GatewayError:
    """A gRPC status name ("RESOURCE_EXHAUSTED", "StatusCode.NOT_FOUND") as a typed error;
    anything unmapped is a 500."""
    key = (name or "").rsplit(".", 1)[-1].upper()
    return _ERROR_OF_GRPC.get(key, UpstreamError)(message or f"the model server failed ({key or 'unknown'})")


# How OVMS (and the embedded host, which uses its texts: ovms_host/errors.py) words a stream
# error_message; anything else is a malformed request (INVALID_ARGUMENT).
_STREAM_MESSAGE_PATTERNS = (
    (("Error occurred during graph execution", "Mediapipe execution failed"), "INTERNAL"),
    (("server busy", "Node is already processing"), "RESOURCE_EXHAUSTED"),
    (("is not found",), "NOT_FOUND"),
    (("is not ready", "not available yet", "not loaded yet", "shutting down"), "UNAVAILABLE"),
)


def status_name_of_stream_message(message: str) -> str:
    """The gRPC status name a stream `error_message` stands for."""
    for needles, name in _STREAM_MESSAGE_PATTERNS:
        if any(n in message for n in needles):
            return name
    return "INVALID_ARGUMENT"
