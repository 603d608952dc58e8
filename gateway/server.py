"""`python -m gateway`: settings from the CLI/env, logging, uvicorn serving the app."""

from __future__ import annotations

import logging
import sys
from typing import Sequence

import uvicorn

from gateway.app import create_app
from gateway.settings import GatewaySettings

__all__ = ["main"]

log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the gateway until stopped (`argv`: CLI flags, over GATEWAY_* env)."""
    settings = GatewaySettings.parse(argv)
    logging.basicConfig(level=settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    where = f"http://{settings.host}:{settings.port}"
    log.info("gateway listening on %s (OpenAI API under /v3 and /v1); upstream KServe gRPC %s "
             "(%s), models %s%s%s; API key %s; CORS %s; rate limit %s; bodies up to %d bytes",
             where, settings.ovms_url, settings.grpc_lb, ",".join(settings.models),
             f" (plain twins: <name>{settings.plain_suffix})" if settings.plain_suffix else "",
             f", model list from {settings.ovms_rest_url}/v1/config" if settings.ovms_rest_url else "",
             "required" if settings.api_key else "off",
             ",".join(settings.cors_origins) if settings.cors_origins else "off",
             f"{settings.rate_limit:g}/min per client, bursts of {settings.burst}"
             if settings.rate_limit else "off", settings.max_body_bytes)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_level=settings.log_level.lower(), access_log=False, timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
