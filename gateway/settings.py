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
# A request body larger than this is refused (413) before it is read whole. Open WebUI sends
# its 36 builtin tools (32 KB) and the whole conversation with every message.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_PLAIN_SUFFIX = "-plain"
# A task (a title, tags) generates at most this many tokens whatever it asks (Open WebUI asks
# 1000 for a title); the servable's MAX_NEW_TOKENS default.
DEFAULT_TASK_MAX_TOKENS = 256


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
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """A larger request body is refused with 413."""
    plain_suffix: str = DEFAULT_PLAIN_SUFFIX
    """Each graph is also listed as `<name><suffix>`: plain completions, no retrieval
    (empty: no such twins)."""
    task_max_tokens: int = DEFAULT_TASK_MAX_TOKENS
    """New tokens a client's task (request_kind.py) may generate at most."""
    rate_limit: float = 0.0
    """Chat requests per minute per client address (a token bucket); 0: no limit."""
    rate_burst: int = 0
    """Requests a client may send at once before the rate applies (0: max(rate, 1) / 6 + 4,
    so one Open WebUI message with its title, tags and follow-ups passes)."""
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
        p.add_argument("--max_body_bytes", type=int,
                       default=int(env.get("GATEWAY_MAX_BODY_BYTES", cls.max_body_bytes)),
                       help="larger request bodies are refused with 413 (env GATEWAY_MAX_BODY_BYTES; "
                            "default %(default)s)")
        p.add_argument("--plain_suffix", default=env.get("GATEWAY_PLAIN_SUFFIX", cls.plain_suffix),
                       help="each graph is also listed as <name><suffix>, answering without the "
                            "documents (e.g. Open WebUI's task model); empty: off (env "
                            "GATEWAY_PLAIN_SUFFIX; default %(default)s)")
        p.add_argument("--task_max_tokens", type=int,
                       default=int(env.get("GATEWAY_TASK_MAX_TOKENS", cls.task_max_tokens)),
                       help="the most new tokens a client's task (title, tags, follow-ups) may "
                            "generate (env GATEWAY_TASK_MAX_TOKENS; default %(default)s)")
        p.add_argument("--rate_limit", type=float,
                       default=float(env.get("GATEWAY_RATE_LIMIT", cls.rate_limit)),
                       help="chat requests per minute per client address, beyond it 429 with "
                            "Retry-After; 0: off (env GATEWAY_RATE_LIMIT; default %(default)s)")
        p.add_argument("--rate_burst", type=int,
                       default=int(env.get("GATEWAY_RATE_BURST", cls.rate_burst)),
                       help="requests a client may send at once (env GATEWAY_RATE_BURST; default: "
                            "a sixth of --rate_limit plus 4)")
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
        if a.task_max_tokens < 1:
            p.error("--task_max_tokens must be positive")
        if a.max_body_bytes < 1:
            p.error("--max_body_bytes must be positive")
        if a.rate_limit < 0 or a.rate_burst < 0:
            p.error("--rate_limit and --rate_burst must not be negative")
        return cls(ovms_url=a.ovms_url, host=a.host, port=a.port, models=models, grpc_lb=a.grpc_lb,
                   ovms_rest_url=(a.ovms_rest_url or "").rstrip("/") or None,
                   api_key=env.get("GATEWAY_API_KEY") or None,
                   cors_origins=_split(a.cors_origins), idle_timeout=a.idle_timeout,
                   sources_footnote=a.sources_footnote, max_prompt_bytes=a.max_prompt_bytes,
                   max_body_bytes=a.max_body_bytes, plain_suffix=a.plain_suffix.strip(),
                   task_max_tokens=a.task_max_tokens, rate_limit=a.rate_limit, rate_burst=a.rate_burst, log_level=a.log_level)

    @property
    def burst(self) -> int:
        """The rate limiter's bucket size."""
        return self.rate_burst or int(max(self.rate_limit, 1) / 6) + 4
