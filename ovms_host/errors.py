"""The one place where exceptions become gRPC status codes and wire messages.

A servable can type its errors: an exception class (or instance) with an attribute
`grpc_status` naming a `grpc.StatusCode` ("INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", ...)
is reported with that code and its own message. Anything else is INTERNAL with OVMS's
"Error occurred during graph execution" prefix, keeping the exception's message.
"""

import grpc

EXECUTION_FAILED = "Error occurred during graph execution"
NODE_BUSY = "Node is already processing data. Create new stream for another request."


class HostError(Exception):
    """An error the host itself raises with a definite status code."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _typed_code(exc: BaseException):
    name = getattr(exc, "grpc_status", None)
    if isinstance(name, grpc.StatusCode):
        return name
    if isinstance(name, str):
        return getattr(grpc.StatusCode, name.upper(), None)
    return None


def status_of(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """(code, message) for an exception raised by the host or by a servable's execute."""
    if isinstance(exc, HostError):
        return exc.code, exc.message
    text = str(exc) or type(exc).__name__
    code = _typed_code(exc)
    if code is not None and code is not grpc.StatusCode.INTERNAL:
        return code, text
    return grpc.StatusCode.INTERNAL, f"{EXECUTION_FAILED}: {text}"


HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.FAILED_PRECONDITION: 400, grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504, grpc.StatusCode.CANCELLED: 499,
}


def http_status(code: grpc.StatusCode) -> int:
    return HTTP_STATUS.get(code, 500)
