"""Every error the RAG core raises on purpose, in one shallow module (as httpx does).

Each carries a message a user can act on. The wire mapping lives here too: each class
carries `grpc_status`, a gRPC status code name; the host (or the servable's end_signal)
turns it into the code. Anything without it is INTERNAL. `ConfigError` and its subclasses
raised while the servable initialises mean the model never becomes ready.

Request errors travel in-band: OVMS never forwards an exception from `execute` to the
client (the graph fails silently, see docs/ovms_host_parity.md), so `wire_error` turns any
exception into the `{"code", "message"}` object the servable puts in `end_signal`.

    RagError
    ├── ConfigError ── ModelMissingError, HubError,     settings, model folders, the hub,
    │                  WeightsIntegrityError            weights that are not what the preset records
    ├── InvalidRequestError                             the client's request is malformed
    ├── OverloadedError                                 too many requests in flight
    ├── ServiceClosedError                              finalized (shutdown, config reload)
    ├── GenerationError ── EngineDeadError              the model failed while generating
    ├── DocumentError                                   one document skipped, with its reason
    │   ├── UnsupportedFormatError
    │   └── FetchError ── BlockedAddressError, UnreachableError, FetchTimeoutError,
    │                     TooLargeError, HttpStatusError, TooManyRedirectsError
    ├── IndexStoreError                                 the persisted index failed validation
    └── KnowledgeStoreError                             the shared knowledge base (PostgreSQL)
                                                        cannot be reached or used
"""

INTERNAL = "INTERNAL"


class RagError(Exception):
    """Base class of every error the core raises on purpose."""

    grpc_status = INTERNAL


class ConfigError(RagError):
    """A setting is invalid (bad env value, unknown preset, unknown device)."""


class ModelMissingError(ConfigError):
    """A model folder does not exist; the message names the script that makes it."""


class HubError(ConfigError):
    """The hub can't provide the model (unreachable, gated without token, unknown id)."""


class WeightsIntegrityError(ConfigError):
    """Downloaded or assembled weights differ from what the preset records (size, SHA-256):
    nothing is exported from them."""


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


class EngineDeadError(GenerationError):
    """The generation engine's thread died or was closed: no request can be served."""


class DocumentError(RagError):
    """One document could not be fetched or parsed (it is skipped, with this reason).

    `transient`: the failure may pass by itself (timeout, DNS, connection, HTTP 5xx/429), so
    a document indexed before keeps its last good copy. `gone`: the server says the page no
    longer exists (HTTP 404/410), so the copy is dropped. Anything else (refused by the SSRF
    guard, too large, unparseable) also drops it: what is there now is known to be unusable.
    """

    transient = False
    gone = False


class UnsupportedFormatError(DocumentError):
    """The document is not text, Markdown, HTML or PDF."""


class FetchError(DocumentError):
    """A URL could not be fetched (bad URL, DNS failure, connection or TLS failure)."""


class BlockedAddressError(FetchError):
    """The host resolves to an address the SSRF guard refuses."""


class UnreachableError(FetchError):
    """The host does not resolve, refuses the connection, or the connection broke."""

    transient = True


class FetchTimeoutError(FetchError):
    """Connecting, reading or the whole fetch took longer than the policy allows."""

    transient = True


class TooLargeError(FetchError):
    """The body is larger than `FetchPolicy.max_bytes`."""


class HttpStatusError(FetchError):
    """The server answered with a non-2xx status (that is not a followed redirect)."""

    TRANSIENT = frozenset({408, 425, 429})  # and every 5xx
    GONE = frozenset({404, 410})

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status
        self.transient = status in self.TRANSIENT or 500 <= status <= 599
        self.gone = status in self.GONE


class TooManyRedirectsError(FetchError):
    """More than `FetchPolicy.max_redirects` redirects."""


class IndexStoreError(RagError):
    """The persisted index failed validation; the caller rebuilds instead of trusting it."""


class KnowledgeStoreError(RagError):
    """The shared knowledge base (KNOWLEDGE_STORE=postgres) cannot be reached or used; the
    message names the database with its password redacted and says why."""

    grpc_status = "UNAVAILABLE"


def wire_error(exc: BaseException) -> dict:
    """`{"code": <gRPC status name>, "message": ...}` for an answer that failed with `exc`."""
    if isinstance(exc, RagError):
        return {"code": exc.grpc_status, "message": str(exc) or type(exc).__name__}
    return {"code": INTERNAL,
            "message": f"the answer failed: {type(exc).__name__}: {exc} (the server log has the details)"}
