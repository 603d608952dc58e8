"""The Starlette application: routes, the API key check, the body-size cap, the per-client
rate limit, CORS and the error handlers.

    GET  /v3/models, /v1/models                       the graphs (python_model first, each with
                                                      its plain twin)
    POST /v3/chat/completions, /v1/chat/completions   OpenAI chat, streamed or not
    GET  /health (the gateway is up), /ready (the default model is ready upstream),
         /metrics (Prometheus; no key, like the probes)

A chat request is checked in this order: API key (401), rate limit (429 + Retry-After), body
size (413, before the body is read whole), JSON, model (404), the request itself (400).
"""

from __future__ import annotations

import hmac
import logging
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.catalog import Catalog
from gateway.chat import outcome_of, respond
from gateway.chat_request import decode_body, parse_chat_request, requested_model
from gateway.errors import (
    BadRequestError,
    GatewayError,
    PayloadTooLargeError,
    RateLimitedError,
    UnauthorizedError,
    UpstreamError,
)
from gateway.metrics import GatewayMetrics
from gateway.openai_format import model_list
from gateway.rate_limit import RateLimiter
from gateway.request_log import RequestRecord
from gateway.settings import GatewaySettings
from gateway.upstream import Upstream

__all__ = ["create_app"]

log = logging.getLogger("gateway.app")


def error_response(error: GatewayError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to be over `limit` bytes (from its
    Content-Length, or while it streams in)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"the request body is {int(declared)} bytes; the limit is {limit} "
                                   "(--max_body_bytes)")
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            raise PayloadTooLargeError(f"the request body is over the limit of {limit} bytes "
                                       "(--max_body_bytes)")
        parts.append(part)
    return b"".join(parts)


class _Handlers:
    """The routes' handlers; the gRPC channel is opened in the server's event loop (startup)."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.started = int(time.time())
        self.upstream: Upstream | None = None
        self.catalog: Catalog | None = None
        self.metrics = GatewayMetrics()
        self.limiter = RateLimiter(settings.rate_limit, settings.burst)

    async def start(self) -> None:
        self.upstream = Upstream(self.settings.ovms_url, self.settings.idle_timeout,
                                 self.settings.grpc_lb)
        self.catalog = Catalog(self.settings, self.upstream)

    async def stop(self) -> None:
        if self.upstream is not None:
            await self.upstream.close()

    def authorize(self, request: Request) -> None:
        key = self.settings.api_key
        if key is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
            raise UnauthorizedError("a valid API key is required: send 'Authorization: Bearer <key>'")

    async def models(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(model_list(await self.catalog.names(), self.started))

    async def chat_completions(self, request: Request) -> Response:
        client = request.client.host if request.client else "-"
        record = RequestRecord(request.url.path, client, self.metrics)
        try:
            self.authorize(request)
            try:
                self.limiter.check(client)
            except RateLimitedError:
                self.metrics.rate_limited.inc()
                raise
            body = decode_body(await read_body(request, self.settings.max_body_bytes))
            record.saw_body(body)
            upstream_model, plain = self.catalog.target(requested_model(body, self.catalog.default_model))
            chat = parse_chat_request(body, self.catalog.default_model, self.settings.sources_footnote,
                                      plain, self.settings.task_max_tokens)
            record.classified(chat.kind.name, chat.kind.why)
            if chat.tools_ignored:
                self.metrics.tools_ignored.inc()
            answer = self.upstream.ask(upstream_model, chat.pre_prompt(self.settings.max_prompt_bytes))
            return await respond(request, chat, answer, record)
        except GatewayError as error:
            record.finish("unauthorized" if error.status == 401 else outcome_of(error),
                          error.status, error.code)
            raise
        except Exception:
            record.finish("error", 500, "internal_error")
            raise

    async def metrics_page(self, request: Request) -> Response:
        body, content_type = self.metrics.exposition()
        return Response(body, media_type=content_type)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        model = self.catalog.default_model
        try:
            ready = await self.upstream.model_ready(model)
        except GatewayError as error:
            return JSONResponse({"ready": False, "model": model, "reason": error.message}, 503)
        return JSONResponse({"ready": bool(ready), "model": model}, 200 if ready else 503)


async def _gateway_error(request: Request, exc: GatewayError) -> Response:
    return error_response(exc)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    error = BadRequestError(str(exc.detail), kind)
    error.status = exc.status_code
    return error_response(error)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(UpstreamError("unexpected gateway error; see the gateway's log",
                                        "internal_error"))


def create_app(settings: GatewaySettings) -> Starlette:
    """The gateway's ASGI app: the OpenAI routes under /v3 and /v1, /health, /ready and
    /metrics; the upstream connection opens and closes with the app's lifespan."""
    handlers = _Handlers(settings)

    @asynccontextmanager
    async def lifespan(app):
        await handlers.start()
        try:
            yield
        finally:
            await handlers.stop()

    routes = [Route(f"/{v}/models", handlers.models, methods=["GET"]) for v in ("v3", "v1")]
    routes += [Route(f"/{v}/chat/completions", handlers.chat_completions, methods=["POST"])
               for v in ("v3", "v1")]
    routes += [Route("/health", handlers.health, methods=["GET"]),
               Route("/ready", handlers.ready, methods=["GET"]),
               Route("/metrics", handlers.metrics_page, methods=["GET"])]
    middleware = []
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                                     allow_methods=["GET", "POST", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type"]))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan,
                    exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error,
                                        Exception: _unexpected})
    app.state.handlers = handlers
    return app
