"""Served measurements (through the host's KServe gRPC stream) — TODO hooks.

These need the RAG core (`servable_stream/ragbot/service.py`, optimum or genai llm) and the
embedded host (`ovms_host`, driven with `tests/hostproc.start_host`). Both have landed in
`main`, but llm.py/service.py were still being edited when this groundwork was written, so the
hooks below only report "todo". Each one's plan:

- served_vs_inprocess_decode: start_host(servable_stream/config.json) with the INT4 preset
  folder (benchmarks/.cache/models/ov-int4) as the LLM and the same chosen properties; stream
  one request (1000-token context via docs + question, max_new_tokens=128, min tokens forced)
  with tritonclient.grpc start_stream/async_stream_infer; decode tok/s from the arrival times of
  `completion` responses (OVMS_MP_TIMESTAMP as a cross-check); divide by the in-process figure
  of the same backend measured in this run (optimum_int4 or genai_int4).
- concurrency8_vs_single_throughput (served): 8 concurrent gRPC streams vs 1, aggregate
  completion tokens/s (usage.completion_tokens from end_signal / wall time).
- rss_mb_served_int4: psutil RSS of the host process (plus children) after load and after a
  request, INT4 preset.
- incremental_vs_full_reindex_time: ragbot index/watcher: append one entry to docs.txt and time
  the background rebuild until the swapped index answers, vs a full rebuild of the same docs.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _todo(what: str) -> dict:
    return {"value": None, "status": "todo", "reason": what}


def served_measurements(model_paths: dict) -> dict:
    have_host = (REPO / "ovms_host" / "__main__.py").exists() and (REPO / "tests" / "hostproc.py").exists()
    have_core = (REPO / "servable_stream" / "ragbot" / "service.py").exists()
    why = ("host + core present; served measurement not written yet (see benchmarks/served.py)"
           if have_host and have_core else "waiting for ovms_host / ragbot.service to land")
    return {"served_vs_inprocess_decode": _todo(why),
            "concurrency8_vs_single_throughput_served": _todo(why),
            "rss_mb_served_int4": _todo(why),
            "incremental_vs_full_reindex_time": _todo(why)}
