"""Index tests: the real all-MiniLM-L6-v2 embeddings, a local HTTP server, and a guard that
fails the test if the code under test connects anywhere but 127.0.0.1."""
from __future__ import annotations

import hashlib
import http.server
import threading
import time
from dataclasses import dataclass, field

import pytest
from langchain_core.embeddings import Embeddings

from tests.local_http import LOCAL, serving


# the same autouse guard as the document tests: any connect outside 127.0.0.1 fails the test
from tests.knowledge.documents.conftest import only_local_connections  # noqa: E402,F401


# `embeddings`: the session's one all-MiniLM-L6-v2 (tests/conftest.py)


class CountingEmbeddings(Embeddings):
    """The real embeddings, counting how many texts were embedded for documents."""

    def __init__(self, inner, weights: str | None = "inner"):
        self.inner = inner
        self.embedded = 0
        self.calls = 0
        self._weights = weights  # "inner": the real model's; else pretend these weights

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    @property
    def weights(self) -> str | None:
        return self.inner.weights if self._weights == "inner" else self._weights

    def embed_documents(self, texts):
        self.calls += 1
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


@pytest.fixture
def counting(embeddings):
    return CountingEmbeddings(embeddings)


@dataclass
class DocServer:
    """Serves `files`; per path, `status` overrides the answer (503, 404, ...) and `delay`
    holds it back (seconds). Every 200 carries an ETag (of the body) and a Last-Modified, and
    a matching If-None-Match gets a 304 without a body: `conditional` and `not_modified`
    record those requests, `bodies` the paths whose body was sent."""

    port: int = 0
    files: dict = field(default_factory=dict)  # path -> (body, content type)
    status: dict = field(default_factory=dict)  # path -> HTTP status to answer instead
    delay: dict = field(default_factory=dict)  # path -> seconds before answering
    requests: list = field(default_factory=list)
    conditional: list = field(default_factory=list)
    not_modified: list = field(default_factory=list)
    bodies: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{LOCAL}:{self.port}{path}"


LAST_MODIFIED = "Tue, 01 Dec 2026 10:00:00 GMT"


def _handler(server: DocServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body=b"", ctype="text/plain", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            path = self.path
            server.requests.append(path)
            try:
                if path.startswith("/slow"):
                    server.stop.wait(3)
                if server.delay.get(path):
                    server.stop.wait(server.delay[path])
                if path in server.status:
                    status = server.status[path]
                    self._send(status, f"HTTP {status} on purpose".encode())
                    return
                body, ctype = server.files.get(path, (None, None))
                if body is None:
                    self._send(404, b"not found")
                    return
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                validators = [("ETag", etag), ("Last-Modified", LAST_MODIFIED)]
                if self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"):
                    server.conditional.append(path)
                if self.headers.get("If-None-Match") == etag:
                    server.not_modified.append(path)
                    self.send_response(304)
                    for k, v in validators:
                        self.send_header(k, v)
                    self.end_headers()
                    return
                server.bodies.append(path)
                self._send(200, body, ctype, validators)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def serving_docs():
    """A DocServer on a free 127.0.0.1 port for the duration of the block."""
    return serving(DocServer(), _handler)


@pytest.fixture
def doc_server():
    with serving_docs() as server:
        yield server


def wait_for(condition, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
