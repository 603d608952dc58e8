"""METRICS_PORT: the servable's own read-only HTTP server, for real OVMS.

OVMS's REST port is its own: a servable cannot add routes there. With METRICS_PORT set,
this server (stdlib, one daemon thread, started once per process) answers
  GET /metrics   prometheus_client's default registry (what the host serves at /metrics)
  GET /status    the knowledge-base status JSON (what the host serves at
                 /v2/models/<name>/status), from the provider the running service publishes
Everything else is 404. A config reload's new service publishes itself in place of the old.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

log = logging.getLogger(__name__)

_lock = threading.Lock()
_server: ThreadingHTTPServer | None = None
_status: Callable[[], dict] | None = None


def publish_status(provider: Callable[[], dict] | None) -> None:
    """The callable GET /status answers with (None: no status, 503)."""
    global _status
    _status = provider


def withdraw_status(provider: Callable[[], dict]) -> None:
    """Unpublish `provider` unless a newer one replaced it already."""
    global _status
    if _status == provider:
        _status = None


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/metrics":
            from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/status":
            provider = _status
            if provider is None:
                self._json(503, {"error": "the RAG service is not running"})
                return
            try:
                self._json(200, provider())
            except Exception as exc:  # noqa: BLE001 - reported, never a dead handler
                log.exception("status failed")
                self._json(500, {"error": f"status failed: {type(exc).__name__}: {exc}"})
        else:
            self._json(404, {"error": f"No route for {path}; try /metrics or /status"})

    def _json(self, status: int, obj) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        log.debug("%s " + fmt, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A scraper that hangs up mid-request is a debug line, not socketserver's traceback on
        OVMS's stderr; any other failure is logged with its traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            log.debug("metrics client %s hung up: %s", client_address, sys.exc_info()[1])
        else:
            log.exception("metrics request from %s failed", client_address)


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The server, bound and not yet serving (port 0: any free port)."""
    return _Server((host, port), _Handler)


def serve(port: int | None) -> None:
    """Start the server on `port` once per process (METRICS_PORT); None or 0: no server."""
    global _server
    if not port:
        return
    with _lock:
        if _server is not None:
            return
        _server = make_server("0.0.0.0", port)
        threading.Thread(target=_server.serve_forever, name="ragbot-ops-port", daemon=True).start()
        log.info("metrics and knowledge status served at http://0.0.0.0:%d/metrics and /status",
                 port)
