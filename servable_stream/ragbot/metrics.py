"""Prometheus metrics of the RAG core (prometheus_client's default registry).

The host serves the registry at GET /metrics on its REST port; under real OVMS, whose
REST port is its own, set METRICS_PORT to serve it from the servable's own server
(ops_port.py, which also serves the knowledge-base status).
Names:
  ragbot_requests_total{outcome="ok|error|cancelled|rejected|invalid"}
  ragbot_active_streams                 admitted requests generating now
  ragbot_queued_requests                requests waiting for a generation slot
  ragbot_generated_tokens_total         live: +1 per streamed chunk, reconciled with the
                                        model's token count when an answer completes
  ragbot_time_to_first_token_seconds    histogram
  ragbot_time_per_output_token_seconds  histogram (per request: decode time / tokens)
  ragbot_model_steps_total              steps of the LLM that yielded tokens (genai backend);
                                        generated tokens / steps is what prompt lookup or a
                                        draft model gains (1.0: plain decoding)
  ragbot_index_chunks                   chunks in the serving index
  ragbot_index_stale_documents          documents served from their last good copy (the last
                                        fetch failed transiently)
  ragbot_index_rebuilds_total{outcome="ok|error"}
  ragbot_index_rebuild_seconds          histogram
"""
from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "error", "cancelled", "rejected", "invalid")

REQUESTS = Counter("ragbot_requests", "Requests by outcome", ["outcome"])
ACTIVE_STREAMS = Gauge("ragbot_active_streams", "Admitted requests that are generating")
QUEUED_REQUESTS = Gauge("ragbot_queued_requests", "Requests waiting for a generation slot")
GENERATED_TOKENS = Counter("ragbot_generated_tokens", "Tokens generated (all requests)")
TTFT = Histogram(
    "ragbot_time_to_first_token_seconds", "From the request (queue wait included) to the first text chunk",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
TPOT = Histogram(
    "ragbot_time_per_output_token_seconds", "Mean time per generated token after the first",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
MODEL_STEPS = Counter("ragbot_model_steps", "Steps of the LLM that yielded tokens (genai backend)")
INDEX_CHUNKS = Gauge("ragbot_index_chunks", "Chunks in the index that answers")
INDEX_STALE_DOCUMENTS = Gauge("ragbot_index_stale_documents",
                              "Documents served from their last good copy (fetch failed transiently)")
INDEX_REBUILDS = Counter("ragbot_index_rebuilds", "Index builds by outcome", ["outcome"])
INDEX_REBUILD_SECONDS = Histogram(
    "ragbot_index_rebuild_seconds", "Time to build an index",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)

for _outcome in OUTCOMES:  # every series exists from the start (0), so rates work at once
    REQUESTS.labels(outcome=_outcome)
for _outcome in ("ok", "error"):
    INDEX_REBUILDS.labels(outcome=_outcome)


def record_request(outcome: str) -> None:
    REQUESTS.labels(outcome=outcome if outcome in OUTCOMES else "error").inc()


def record_rebuild(ok: bool, chunks: int, seconds: float, stale: int = 0) -> None:
    """One index build finished; `chunks` and `stale` describe the new index (ignored when
    not ok)."""
    INDEX_REBUILDS.labels(outcome="ok" if ok else "error").inc()
    INDEX_REBUILD_SECONDS.observe(seconds)
    if ok:
        INDEX_CHUNKS.set(chunks)
        INDEX_STALE_DOCUMENTS.set(stale)
