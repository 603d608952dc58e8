"""Typed errors of the RAG core. Each carries a message a user can act on.

Wire mapping lives HERE, in one place: every class carries `grpc_status` (a gRPC
status code name; `wire_status` is the same value). model.py lets these exceptions
propagate and the host turns the attribute into the gRPC code; anything without it
is INTERNAL. `ConfigError`/`ModelMissingError` raised by `initialize` mean the model
never becomes ready.
"""


class RagError(Exception):
    """Base class of every error the core raises on purpose."""

    grpc_status = "INTERNAL"

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


class GenerationError(RagError):
    """The model failed while generating."""


class DocumentError(RagError):
    """One document could not be fetched or parsed (it is skipped, with this reason)."""
