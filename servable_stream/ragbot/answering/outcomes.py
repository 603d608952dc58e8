"""Request outcomes, in one place: each request ends counted in metrics and in one INFO log
line, whatever ended it (refused before it started, exhausted, failed, closed early).

    refused(request_id, outcome, reason)     "invalid" | "rejected": never admitted
    RequestRecord(run).track(events)         wraps an answer's events (text chunks, then
                                             the AnswerEnd) and finishes the record once

No question or document text is logged.
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Iterator

from .. import metrics
from ..errors import InvalidRequestError
from ..run import RunContext
from .end import AnswerEnd

log = logging.getLogger("ragbot.requests")


def refused(request_id: str, outcome: str, reason: object) -> None:
    """A request refused before generating (bad input, overload)."""
    metrics.record_request(outcome)
    log.info("request %s outcome=%s reason=%s", request_id, outcome, reason)


class RequestRecord:
    def __init__(self, run: RunContext, on_finish: Callable[[], None] | None = None,
                 on_first_chunk: Callable[[], None] | None = None):
        self.run = run
        self._on_finish = on_finish
        self._on_first_chunk = on_first_chunk
        self.first_chunk: float | None = None
        self.chunks = 0
        self.finish_reason: str | None = None
        self.outcome: str | None = None

    def chunk(self) -> None:
        if self.first_chunk is None:
            self.first_chunk = time.monotonic()
            metrics.TTFT.observe(self.first_chunk - self.run.started)
            if self._on_first_chunk is not None:
                self._on_first_chunk()
        self.chunks += 1
        metrics.GENERATED_TOKENS.inc()  # live count; reconciled with the token count at the end

    def finish(self, outcome: str) -> None:
        if self.outcome is not None:
            return
        self.outcome = outcome
        ended = time.monotonic()
        stats = self.run.stats
        tokens = max(self.chunks, stats.completion_tokens)
        if tokens > self.chunks:
            metrics.GENERATED_TOKENS.inc(tokens - self.chunks)
        if self.first_chunk is not None and tokens > 1:
            metrics.TPOT.observe((ended - self.first_chunk) / (tokens - 1))
        if stats.model_steps:
            metrics.MODEL_STEPS.inc(stats.model_steps)
        metrics.record_request(outcome)
        ttft = f"{self.first_chunk - self.run.started:.3f}s" if self.first_chunk is not None else "-"
        rewrite = "" if self.run.rewrite_seconds is None else f" rewrite={self.run.rewrite_seconds:.3f}s"
        steps = f" model_steps={stats.model_steps}" if stats.model_steps else ""
        log.info(
            "request %s outcome=%s prompt_tokens=%d completion_tokens=%d ttft=%s duration=%.3fs%s%s",
            self.run.request_id, outcome, stats.prompt_tokens, tokens, ttft, ended - self.run.started,
            rewrite, steps,
        )
        if self._on_finish is not None:
            self._on_finish()

    def track(self, events: Iterator) -> Iterator:
        try:
            for event in events:
                if isinstance(event, AnswerEnd):
                    self.finish_reason = event.finish_reason
                elif event:
                    self.chunk()
                yield event
        except GeneratorExit:
            self.finish("cancelled")
            raise
        except InvalidRequestError:
            self.finish("invalid")
            raise
        except BaseException:
            self.finish("error")
            raise
        else:
            self.finish("cancelled" if self.finish_reason == "cancelled" else "ok")
        finally:
            self.finish("cancelled")  # no-op unless closed before finishing
            close = getattr(events, "close", None)
            if close:
                close()
