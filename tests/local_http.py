"""One local HTTP(S) server for the tests that fetch documents: a handler class served on a
free 127.0.0.1 port in a background thread for the duration of a `with` block. What each
server answers (its handler) stays with its tests; the serving is written once here."""
from __future__ import annotations

import contextlib
import http.server
import socket
import ssl
import struct
import threading
from typing import Callable, Iterator, Protocol

LOCAL = "127.0.0.1"


class Served(Protocol):
    port: int
    stop: threading.Event  # set when the block ends: handlers waiting on it give up


@contextlib.contextmanager
def serving(server: Served, handler: Callable[[Served], type[http.server.BaseHTTPRequestHandler]],
            ssl_context: ssl.SSLContext | None = None) -> Iterator[Served]:
    """Serve `handler(server)` on a free 127.0.0.1 port (set as `server.port`)."""
    httpd = http.server.ThreadingHTTPServer((LOCAL, 0), handler(server))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    if ssl_context is not None:
        httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(2)


def hang_up_mid_request(port: int, times: int = 3, sent: bytes = b"GET /pi") -> None:
    """Clients that send half a request line and reset the connection (SO_LINGER 0): a
    readiness probe or a closed tab, as a server sees them."""
    for _ in range(times):
        with socket.create_connection((LOCAL, port), timeout=5) as s:
            s.sendall(sent)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
