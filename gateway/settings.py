"""The gateway's settings, read once at the edge: CLI flags over GATEWAY_* environment variables."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from client.wire import MODEL_NAME

__all__ = ["GatewaySettings"]

DEFAULT_PORT = 8001
DEFAULT_IDLE_TIMEOUT = 120.0
DEFAULT_MAX_PROMPT_BYTES = 32768  # the servable's MAX_PROMPT_BYTES default


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _flag(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class GatewaySettings:
    ovms_url: str = "localhost:9000"
    """KServe v2 gRPC address (host:port) of OVMS or the embedded host."""
    host: str = "0.0.0.0"
    port: int = DEFAULT_PORT
    models: tuple[str, ...] = (MODEL_NAME,)
    """Graphs the gateway serves (without `ovms_rest_url`, the model list is these, checked
    with ModelReady); the first is the default for a request that names none."""
    grpc_lb: str = "pick_first"
    """gRPC load balancing over the addresses `ovms_url` resolves to: pick_first or round_robin."""
    ovms_rest_url: str | None = None
    """OVMS REST base URL: the model list then comes from its GET /v1/config."""
    api_key: str | None = field(default=None, repr=False)
    """When set, /v1 and /v3 need `Authorization: Bearer <key>` (env GATEWAY_API_KEY only)."""
    cors_origins: tuple[str, ...] = ()
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    """Seconds without any upstream response before a request is given up (504)."""
    sources_footnote: bool = False
    """Default of the request option `sources_footnote` (Markdown sources after the answer)."""
    max_prompt_bytes: int = DEFAULT_MAX_PROMPT_BYTES
    """The servable's MAX_PROMPT_BYTES: older history turns are dropped to stay under it."""
    log_level: str = "INFO"

    @classmethod
    def parse(cls, argv: Sequence[str] | None = None,
              environ: Mapping[str, str] | None = None) -> "GatewaySettings":
        env = os.environ if environ is None else environ
        p = argparse.ArgumentParser(
            prog="python -m gateway",
            description="OpenAI-compatible chat API (with the RAG sources) in front of the "
                        "chatbot's KServe gRPC stream (OVMS or the embedded host).")
        p.add_argument("--ovms_url", default=env.get("GATEWAY_OVMS_URL", cls.ovms_url),
                       help="OVMS gRPC address host:port (env GATEWAY_OVMS_URL; default %(default)s)")
        p.add_argument("--host", default=env.get("GATEWAY_HOST", cls.host),
                       help="address to listen on (env GATEWAY_HOST; default %(default)s)")
        p.add_argument("--port", type=int, default=int(env.get("GATEWAY_PORT", cls.port)),
                       help="port to listen on (env GATEWAY_PORT; default %(default)s)")
        p.add_argument("--models", default=env.get("GATEWAY_MODELS", ",".join(cls.models)),
                       help="comma-separated graph names served (env GATEWAY_MODELS; default %(default)s)")
        p.add_argument("--grpc_lb", default=env.get("GATEWAY_GRPC_LB", cls.grpc_lb),
                       choices=["pick_first", "round_robin"],
                       help="round_robin: spread streams over every address --ovms_url resolves "
                            "to, e.g. dns:///<headless service>:9000 (env GATEWAY_GRPC_LB; "
                            "default %(default)s)")
        p.add_argument("--ovms_rest_url", default=env.get("GATEWAY_OVMS_REST_URL") or None,
                       help="OVMS REST base URL, e.g. http://localhost:8000: list models from its "
                            "/v1/config (env GATEWAY_OVMS_REST_URL)")
        p.add_argument("--cors_origins", default=env.get("GATEWAY_CORS_ORIGINS", ""),
                       help="comma-separated origins allowed by CORS, '*' for any; off when empty "
                            "(env GATEWAY_CORS_ORIGINS)")
        p.add_argument("--idle_timeout", type=float,
                       default=float(env.get("GATEWAY_IDLE_TIMEOUT", cls.idle_timeout)),
                       help="seconds without an upstream response before giving up (env "
                            "GATEWAY_IDLE_TIMEOUT; default %(default)s)")
        p.add_argument("--sources_footnote", action="store_true",
                       default=_flag(env.get("GATEWAY_SOURCES_FOOTNOTE")),
                       help="append the sources as Markdown to every answer unless a request "
                            "says otherwise (env GATEWAY_SOURCES_FOOTNOTE)")
        p.add_argument("--max_prompt_bytes", type=int,
                       default=int(env.get("GATEWAY_MAX_PROMPT_BYTES", cls.max_prompt_bytes)),
                       help="the servable's MAX_PROMPT_BYTES: the oldest history turns are dropped "
                            "to fit (env GATEWAY_MAX_PROMPT_BYTES; default %(default)s)")
        p.add_argument("--log_level", default=env.get("GATEWAY_LOG_LEVEL", cls.log_level),
                       choices=["DEBUG", "INFO", "WARNING", "ERROR"])
        a = p.parse_args(argv)
        models = _split(a.models)
        if not models:
            p.error("--models needs at least one graph name")
        if a.idle_timeout <= 0:
            p.error("--idle_timeout must be positive")
        if a.max_prompt_bytes < 1:
            p.error("--max_prompt_bytes must be positive")
        return cls(ovms_url=a.ovms_url, host=a.host, port=a.port, models=models, grpc_lb=a.grpc_lb,
                   ovms_rest_url=(a.ovms_rest_url or "").rstrip("/") or None,
                   api_key=env.get("GATEWAY_API_KEY") or None,
                   cors_origins=_split(a.cors_origins), idle_timeout=a.idle_timeout,
                   sources_footnote=a.sources_footnote, max_prompt_bytes=a.max_prompt_bytes,
                   log_level=a.log_level)
