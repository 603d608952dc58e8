"""Typed errors of the RAG core. Each carries a message a user can act on.

The host/adapter maps them to wire status codes in one place (see model.py):
`InvalidRequestError` -> INVALID_ARGUMENT, `OverloadedError` -> RESOURCE_EXHAUSTED,
`NotReadyError`/`ModelMissingError`/`ConfigError` -> startup failure (model not ready),
anything else -> INTERNAL.
"""


class RagError(Exception):
    """Base class of every error the core raises on purpose."""


class ConfigError(RagError):
    """A setting is invalid (bad env value, unknown preset, unknown device)."""


class ModelMissingError(ConfigError):
    """A model folder does not exist; the message names the script that makes it."""


class InvalidRequestError(RagError):
    """The client's request is malformed (bad encoding, bad JSON, empty question...)."""


class OverloadedError(RagError):
    """Too many requests in flight; the client may retry later."""


class GenerationError(RagError):
    """The model failed while generating."""


class DocumentError(RagError):
    """One document could not be fetched or parsed (it is skipped, with this reason)."""
