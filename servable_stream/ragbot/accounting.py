"""Per-request accounting: metrics and the one INFO log line per request.

`track(events, record)` wraps a chain's event stream (text chunks, then the end dict)
and reports to `record` as events pass; whatever ends the stream (exhaustion, an error,
close) finishes the record exactly once. No question or document text is logged.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator

from . import metrics
from .errors import InvalidRequestError

log = logging.getLogger("ragbot.requests")


class RequestRecord:
    def __init__(self, request_id: str, stats: Any, on_finish: Callable[[], None] | None = None,
                 started: float | None = None):
        self.request_id = request_id
        self.stats = stats  # GenerationStats, filled in by the LLM
        self._on_finish = on_finish
        self.started = time.monotonic() if started is None else started
        self.first_chunk: float | None = None
        self.chunks = 0
        self.finish_reason: str | None = None
        self.outcome: str | None = None

    def chunk(self) -> None:
        if self.first_chunk is None:
            self.first_chunk = time.monotonic()
            metrics.TTFT.observe(self.first_chunk - self.started)
        self.chunks += 1
        metrics.GENERATED_TOKENS.inc()  # live count; reconciled with the token count at the end

    def finish(self, outcome: str) -> None:
        if self.outcome is not None:
            return
        self.outcome = outcome
        ended = time.monotonic()
        tokens = max(self.chunks, int(getattr(self.stats, "completion_tokens", 0) or 0))
        if tokens > self.chunks:
            metrics.GENERATED_TOKENS.inc(tokens - self.chunks)
        if self.first_chunk is not None and tokens > 1:
            metrics.TPOT.observe((ended - self.first_chunk) / (tokens - 1))
        metrics.record_request(outcome)
        ttft = f"{self.first_chunk - self.started:.3f}s" if self.first_chunk is not None else "-"
        log.info(
            "request %s outcome=%s prompt_tokens=%d completion_tokens=%d ttft=%s duration=%.3fs",
            self.request_id, outcome, int(getattr(self.stats, "prompt_tokens", 0) or 0), tokens,
            ttft, ended - self.started,
        )
        if self._on_finish is not None:
            self._on_finish()


def track(events: Iterator[Any], record: RequestRecord) -> Iterator[Any]:
    try:
        for event in events:
            if isinstance(event, dict):
                record.finish_reason = event.get("finish_reason")
            elif event:
                record.chunk()
            yield event
    except GeneratorExit:
        record.finish("cancelled")
        raise
    except InvalidRequestError:
        record.finish("invalid")
        raise
    except BaseException:
        record.finish("error")
        raise
    else:
        record.finish("cancelled" if record.finish_reason == "cancelled" else "ok")
    finally:
        record.finish("cancelled")  # no-op unless closed before finishing
        close = getattr(events, "close", None)
        if close:
            close()
