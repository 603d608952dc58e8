"""A real HTTP server on 127.0.0.1 with special routes, and a guard that fails any test
whose code tries to connect anywhere but 127.0.0.1."""
from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import shutil
import threading

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.local_http import LOCAL, serving

FILES = {
    "hello.txt": (b"Hello from the local server.\n", "text/plain; charset=utf-8"),
    "page.html": (b"<html><head><title>T</title></head><body><p>Hi</p></body></html>",
                  "text/html"),
}


@pytest.fixture(autouse=True)
def only_local_connections(monkeypatch):
    """Every outgoing connect from the code under test must go to 127.0.0.1.

    Anything else is recorded and refused with an OSError before a packet leaves;
    the test then fails at teardown.
    """
    attempts: list = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if not (isinstance(address, tuple) and address[0] == LOCAL):
            attempts.append(address)
            raise OSError(f"test guard: refused connect to {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert not attempts, f"code tried to connect outside 127.0.0.1: {attempts}"


@dataclass
class Seen:
    path: str
    host: str | None


@dataclass
class LocalServer:
    port: int
    scheme: str = "http"
    requests: list[Seen] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = LOCAL) -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _handler(server: LocalServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _send(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            if body:
                self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            server.requests.append(Seen(self.path, self.headers.get("Host")))
            parts = urlsplit(self.path)
            q = {k: v[0] for k, v in parse_qs(parts.query).items()}
            path = parts.path
            try:
                if path.startswith("/files/") and path[7:] in FILES:
                    body, ctype = FILES[path[7:]]
                    self._send(200, body, [("Content-Type", ctype),
                                           ("Content-Length", str(len(body)))])
                elif path.startswith("/chain/"):  # /chain/N redirects N times, then hello
                    n = int(path[7:])
                    loc = f"/chain/{n - 1}" if n > 0 else "/files/hello.txt"
                    self._send(302, headers=[("Location", loc), ("Content-Length", "0")])
                elif path == "/redirect":  # Location taken verbatim from ?to=
                    self._send(int(q.get("code", 302)),
                               headers=[("Location", q["to"]), ("Content-Length", "0")])
                elif path == "/slow":
                    server.stop.wait(float(q.get("seconds", 3)))
                    self._send(200, b"late", [("Content-Length", "4")])
                elif path == "/drip":  # headers now, then one byte every `every` s
                    n = int(q.get("n", 20))
                    self._send(200, headers=[("Content-Length", str(n))])
                    for _ in range(n):
                        if server.stop.wait(float(q.get("every", 0.3))):
                            break
                        self.wfile.write(b"x")
                        self.wfile.flush()
                elif path == "/huge":  # ?n=bytes, ?cl=0 to omit Content-Length
                    n = int(q.get("n", 1_000_000))
                    headers = [("Content-Type", "text/plain")]
                    if q.get("cl", "1") == "1":
                        headers.append(("Content-Length", str(n)))
                    self._send(200, headers=headers)
                    block = b"a" * 65536
                    while n > 0 and not server.stop.is_set():
                        self.wfile.write(block[:n])
                        n -= len(block)
                else:
                    self._send(404, b"not found", [("Content-Length", "9")])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (size cap, timeout)

    return Handler


@pytest.fixture
def local_server():
    with serving(LocalServer(port=0), _handler) as server:
        yield server


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for the name docs.test (openssl CLI); (cert, key)."""
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=docs.test",
         "-addext", "subjectAltName=DNS:docs.test"],
        check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def tls_server(tls_cert):
    cert, key = tls_cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with serving(LocalServer(port=0, scheme="https"), _handler, ctx) as server:
        yield server


@pytest.fixture
def fake_dns(monkeypatch):
    """Map test host names to addresses: `fake_dns({"docs.test": ["127.0.0.1"]})`.

    Each name answers once per listed entry (a list of answers, one per lookup), so a
    second lookup of a name with one answer raises -> proves there is no re-resolution.
    Returns the list of looked-up names. Other names go to the real resolver.
    """
    real = socket.getaddrinfo
    lookups: list[str] = []

    def install(table: dict[str, list[str]]):
        answers = {k: list(v) for k, v in table.items()}

        def getaddrinfo(host, port, *args, **kwargs):
            if host in answers:
                lookups.append(host)
                if not answers[host]:
                    raise socket.gaierror(socket.EAI_NONAME, f"test DNS: no more answers for {host}")
                ip = answers[host].pop(0)
                fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
                sa = (ip, port, 0, 0) if fam == socket.AF_INET6 else (ip, port)
                return [(fam, socket.SOCK_STREAM, 6, "", sa)]
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


