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
  ragbot_index_embedded_chunks_total    chunks this replica embedded (with a shared store, the
                                        sum over the replicas is what the whole deployment did)
  ragbot_knowledge_version              the published version this replica answers from (0:
                                        KNOWLEDGE_STORE=local, or none yet)
  ragbot_knowledge_writer               1 while this replica is the shared store's writer
  ragbot_knowledge_store_up             1 while the knowledge store is reachable (local: always)
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
INDEX_EMBEDDED_CHUNKS = Counter("ragbot_index_embedded_chunks", "Chunks this replica embedded")
KNOWLEDGE_VERSION = Gauge("ragbot_knowledge_version",
                          "Published knowledge version this replica answers from (0: none, or local)")
KNOWLEDGE_WRITER = Gauge("ragbot_knowledge_writer", "1 while this replica writes the shared knowledge base")
KNOWLEDGE_STORE_UP = Gauge("ragbot_knowledge_store_up", "1 while the knowledge store is reachable")
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


def record_rebuild(ok: bool, seconds: float, embedded_chunks: int = 0) -> None:
    """One index build finished (embedded_chunks counts even when it failed later on)."""
    INDEX_REBUILDS.labels(outcome="ok" if ok else "error").inc()
    INDEX_REBUILD_SECONDS.observe(seconds)
    INDEX_EMBEDDED_CHUNKS.inc(embedded_chunks)


def record_index(chunks: int, stale: int, version: int | None) -> None:
    """A new index answers (built here, or a published version read)."""
    INDEX_CHUNKS.set(chunks)
    INDEX_STALE_DOCUMENTS.set(stale)
    KNOWLEDGE_VERSION.set(version or 0)


def record_store(up: bool | None = None, writer: bool | None = None) -> None:
    """The knowledge store reachable or not; this replica its writer or not (None: unchanged)."""
    if up is not None:
        KNOWLEDGE_STORE_UP.set(1 if up else 0)
    if writer is not None:
        KNOWLEDGE_WRITER.set(1 if writer else 0)
