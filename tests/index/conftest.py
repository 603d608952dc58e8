"""Index tests: the real all-MiniLM-L6-v2 embeddings, a local HTTP server, and a guard that
fails the test if the code under test connects anywhere but 127.0.0.1."""
from __future__ import annotations

import http.server
import threading
import time
from dataclasses import dataclass, field

import pytest
from langchain_core.embeddings import Embeddings

LOCAL = "127.0.0.1"


# the same autouse guard as the document tests: any connect outside 127.0.0.1 fails the test
from tests.documents.conftest import only_local_connections  # noqa: E402,F401


@pytest.fixture(scope="session")
def embeddings():
    from ragbot.knowledge.embeddings import load_embeddings

    from probes.models import minilm_dir

    return load_embeddings(minilm_dir(), "all-MiniLM-L6-v2")


class CountingEmbeddings(Embeddings):
    """The real embeddings, counting how many texts were embedded for documents."""

    def __init__(self, inner):
        self.inner = inner
        self.embedded = 0
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self.inner.dimension

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
    port: int = 0
    files: dict = field(default_factory=dict)  # path -> (body, content type)
    requests: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://{LOCAL}:{self.port}{path}"


def _handler(server: DocServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802
            server.requests.append(self.path)
            try:
                if self.path.startswith("/slow"):
                    server.stop.wait(3)
                body, ctype = server.files.get(self.path, (None, None))
                if body is None:
                    body, status, ctype = b"not found", 404, "text/plain"
                else:
                    status = 200
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


@pytest.fixture
def doc_server():
    server = DocServer()
    httpd = http.server.ThreadingHTTPServer((LOCAL, 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        httpd.shutdown()
        httpd.server_close()


def wait_for(condition, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False
