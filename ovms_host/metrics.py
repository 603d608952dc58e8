"""GET /metrics: the process's Prometheus registry as text (OVMS serves /metrics too).

Generic: the host knows no metric names; whatever the process (a servable included)
registers in prometheus_client's default REGISTRY is exposed. Without prometheus_client
installed the route answers 404 with a hint.
"""

from __future__ import annotations

import re

from .rest import Request, Response, Route


def _metrics(req: Request, m: re.Match) -> Response:
    try:
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
    except ImportError:
        return Response.json({"error": "metrics need the prometheus_client package"}, 404)
    return Response(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)


def metrics_route() -> Route:
    return Route("GET", r"/metrics", _metrics)
