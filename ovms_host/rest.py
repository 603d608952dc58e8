"""KServe v2 REST plus OVMS's /v1/config and /v1/config/reload, on the stdlib's server.

Routes are a list of `Route(method, regex, handler)`; a handler takes `(request, match)` and
returns a `Response`. Other features add endpoints without touching this module: append to
`EXTRA_ROUTES` before the server starts (e.g. `Route("GET", r"/metrics", metrics_handler)`)
or pass `extra_routes=` to `RestServer`. Extra routes are matched first. Errors are OVMS's
`{"error": "<status text>"}` with its HTTP code (errors.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from . import unary
from .config import file_md5
from .errors import HostError, http_status, status_of
from .metadata import model_metadata, server_metadata
from .registry import AVAILABLE, FAILED, LOADING, RETIRED, Registry
from .tensors import out_to_json, request_from_json

log = logging.getLogger("ovms_host.rest")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict = field(default_factory=dict)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> "Response":
        return cls(status, json.dumps(obj).encode())

    @classmethod
    def error(cls, exc: Exception) -> "Response":
        return cls.json({"error": status_of(exc)[1]}, http_status(exc))


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes
    registry: Registry
    input_count_validation: bool = True  # False: --disable_input_count_validation


@dataclass
class Route:
    method: str
    pattern: str
    handler: Callable[[Request, re.Match], Response]

    def __post_init__(self) -> None:
        self.regex = re.compile(self.pattern + r"/?$")


_MODEL = r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"


def _live(req: Request, m: re.Match) -> Response:
    return Response(200)


def _ready(req: Request, m: re.Match) -> Response:
    return Response(200 if req.registry.server_ready.is_set() else 503)


def _server_metadata(req: Request, m: re.Match) -> Response:
    return Response.json(server_metadata())


def _model_ready(req: Request, m: re.Match) -> Response:
    """200 when ready; 404 for an unknown model and for one loading, failed or retired
    (OVMS's processModelReadyKFSRequest: MODEL_VERSION_NOT_LOADED_YET)."""
    try:
        servable = req.registry.find(m["name"])
        if not servable.ready:
            raise HostError("MODEL_VERSION_NOT_LOADED_YET")
    except HostError as e:
        return Response.error(e)
    return Response(200)


def _model_metadata(req: Request, m: re.Match) -> Response:
    try:
        return Response.json(model_metadata(req.registry.find(m["name"])))
    except HostError as e:
        return Response.error(e)


# PipelineDefinitionStatus::convertToModelStatus: a failed graph is LOADING/FAILED_PRECONDITION
_OVMS_STATE = {LOADING: ("LOADING", "OK"), AVAILABLE: ("AVAILABLE", "OK"),
               FAILED: ("LOADING", "FAILED_PRECONDITION"), RETIRED: ("END", "OK")}


def statuses(registry: Registry) -> dict:
    out = {}
    for s in registry.servables.values():
        state, code = _OVMS_STATE[s.state]
        out[s.name] = {"model_version_status": [{
            "version": "1", "state": state,
            "status": {"error_code": code, "error_message": code if code == "OK" else s.error}}]}
    return out


def _config(req: Request, m: re.Match) -> Response:
    return Response.json(statuses(req.registry))


def _config_reload(req: Request, m: re.Match) -> Response:
    """OVMS's processConfigReloadRequest: 201 when something was reloaded, 200 when not."""
    registry = req.registry
    md5 = file_md5(registry.config_path)
    if not md5:
        return Response.json({"error": "Config file not found or cannot open."}, 500)
    if md5 != registry.config_md5 or not registry.last_load_ok:
        registry.reload()
        if not registry.last_load_ok:
            return Response.json({"error": "Reloading config file failed. Check server logs "
                                           "for more info."}, 412)
        return Response.json(statuses(registry), 201)
    return Response.json(statuses(registry), 200)


def _infer(req: Request, m: re.Match) -> Response:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError as e:  # rapidjson's wording differs; code and prefix are OVMS's
        where = f" Offset: {e.pos}" if isinstance(e, json.JSONDecodeError) else ""
        return Response.error(HostError("JSON_INVALID", f"Error: {getattr(e, 'msg', e)}.{where}"))
    try:
        name, packets = unary.infer(req.registry, request_from_json(body, m["name"]),
                                    req.input_count_validation)
    except Exception as e:
        log.warning("REST infer on %s failed: %s", m["name"], status_of(e)[1])
        return Response.error(e)
    resp = {"model_name": name, "model_version": "1",
            "outputs": [out_to_json(p.tensor) for p in packets]}
    if isinstance(body, dict) and body.get("id"):
        resp["id"] = body["id"]
    return Response.json(resp)


EXTRA_ROUTES: list[Route] = []


def default_routes() -> list[Route]:
    return [
        Route("GET", r"/v2/health/live", _live),
        Route("GET", r"/v2/health/ready", _ready),
        Route("GET", r"/v2", _server_metadata),
        Route("GET", _MODEL + r"/ready", _model_ready),
        Route("GET", _MODEL, _model_metadata),
        Route("POST", _MODEL + r"/infer", _infer),
        Route("GET", r"/v1/config", _config),
        Route("POST", r"/v1/config/reload", _config_reload),
    ]


class _Handler(BaseHTTPRequestHandler):
    server_version = "OpenVINO-Model-Server-ovms_host"
    protocol_version = "HTTP/1.1"

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        matched_path = False
        resp = None
        for route in self.server.routes:
            m = route.regex.match(path)
            if not m:
                continue
            matched_path = True
            if route.method == method:
                req = Request(method, path, dict(self.headers), body, self.server.registry,
                              self.server.input_count_validation)
                try:
                    resp = route.handler(req, m)
                except Exception as e:
                    log.exception("REST %s %s failed", method, path)
                    resp = Response.json({"error": f"Internal error: {e}"}, 500)
                break
        if resp is None:
            resp = (Response.json({"error": f"Method {method} not allowed on {path}"}, 405)
                    if matched_path else Response.json({"error": f"No route for {path}"}, 404))
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(resp.body)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("%s " + fmt, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request (a readiness probe, a closed tab) is no server
        error: a debug line, not socketserver's traceback on stderr; anything else goes to
        the log with its traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            log.debug("REST client %s hung up: %s", client_address, sys.exc_info()[1])
        else:
            log.exception("REST request from %s failed", client_address)


class RestServer:
    def __init__(self, registry: Registry, port: int, host: str = "0.0.0.0",
                 extra_routes: list[Route] | None = None, input_count_validation: bool = True):
        self.httpd = _Server((host, port), _Handler)
        self.httpd.registry = registry
        self.httpd.input_count_validation = input_count_validation
        self.httpd.routes = list(extra_routes or []) + EXTRA_ROUTES + default_routes()
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="rest",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
