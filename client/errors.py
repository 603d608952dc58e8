"""Typed errors the client raises; each message says what happened and what to check."""


class ClientError(Exception):
    """Base of every error the client surfaces to a user."""


class ServerUnreachableError(ClientError):
    """No connection to the model server (down, wrong address, network)."""

    def __init__(self, url: str, detail: str = ""):
        self.url = url
        self.detail = detail
        hint = f" ({detail})" if detail else ""
        super().__init__(
            f"cannot reach the model server at {url}{hint}; "
            f"check that it is running and that the address is right"
        )


class ServerError(ClientError):
    """The server answered with an error (model failure, bad request, overload, ...);
    `code` is the gRPC status name when the server gave one."""

    def __init__(self, server_message: str, code: str | None = None):
        self.server_message = server_message
        self.code = code
        where = f" ({code})" if code else ""
        super().__init__(f"the model server reported an error{where}: {server_message}")


class StreamTimeoutError(ClientError):
    """Nothing arrived from the server for longer than the idle timeout."""

    def __init__(self, url: str, idle_timeout: float):
        self.url = url
        self.idle_timeout = idle_timeout
        super().__init__(
            f"no response from the model server at {url} for {idle_timeout:g} s; "
            f"the request was cancelled (the server may be overloaded)"
        )


class ProtocolError(ClientError):
    """The server sent something that does not follow the wire contract."""
