"""The gateway's Prometheus metrics, served on GET /metrics.

    gateway_requests_total{kind="chat|task", outcome="ok|cancelled|invalid|rejected|unauthorized|error"}
    gateway_tools_ignored_total     tools offered by clients and ignored (requests that carried any)
    gateway_rate_limited_total      requests refused by --rate_limit
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    """One registry per app (tests start several apps in one process)."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("gateway_requests", "Chat completion requests by kind and outcome",
                                ["kind", "outcome"], registry=self.registry)
        self.tools_ignored = Counter("gateway_tools_ignored",
                                     "Chat requests whose tools were ignored (no tool_choice forced "
                                     "a call; the model cannot call tools)", registry=self.registry)
        self.rate_limited = Counter("gateway_rate_limited", "Requests refused by the per-client rate limit",
                                    registry=self.registry)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
