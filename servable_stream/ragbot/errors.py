"""Typed errors of the RAG core. Each carries a message a user can act on.

Wire mapping lives HERE, in one place: every class carries `grpc_status` (a gRPC
status code name; `wire_status` is the same value) and `wire_error` turns any exception
into the `{"code", "message"}` object that model.py puts in `end_signal`. Errors travel
in-band because OVMS never forwards an exception from `execute` to the client (the graph
fails silently, see docs/ovms_host_parity.md). `ConfigError`/`ModelMissingError` raised by
`initialize` mean the model never becomes ready.
"""

INTERNAL = "INTERNAL"


class RagError(Exception):
    """Base class of every error the core raises on purpose."""

    grpc_status = INTERNAL

    @property
    def wire_status(self) -> str:
        return self.grpc_status


class ConfigError(RagError):
    """A setting is invalid (bad env value, unknown preset, unknown device)."""


class ModelMissingError(ConfigError):
    """A model folder does not exist; the message names the script that makes it."""


class InvalidRequestError(RagError):
    """The client's request is malformed (bad encoding, bad JSON, empty question...)."""

    grpc_status = "INVALID_ARGUMENT"


class OverloadedError(RagError):
    """Too many requests in flight; the client may retry later."""

    grpc_status = "RESOURCE_EXHAUSTED"


class ServiceClosedError(RagError):
    """The service was finalized (shutdown or config reload); the client may retry."""

    grpc_status = "UNAVAILABLE"


class GenerationError(RagError):
    """The model failed while generating."""


class DocumentError(RagError):
    """One document could not be fetched or parsed (it is skipped, with this reason)."""


def wire_error(exc: BaseException) -> dict:
    """`{"code": <gRPC status name>, "message": ...}` for an answer that failed with `exc`."""
    if isinstance(exc, RagError):
        return {"code": exc.grpc_status, "message": str(exc) or type(exc).__name__}
    return {"code": INTERNAL,
            "message": f"the answer failed: {type(exc).__name__}: {exc} (the server log has the details)"}
