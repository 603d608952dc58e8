"""One INFO line per chat request for the operator: outcome, status, tokens, timings.

Never the user's text: questions and answers stay out of the log.
"""

from __future__ import annotations

import logging
import time
import uuid

__all__ = ["RequestRecord"]

log = logging.getLogger("gateway.requests")


class RequestRecord:
    def __init__(self, path: str):
        self.id = uuid.uuid4().hex[:12]
        self.path = path
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.model = "-"
        self.stream = False
        self.prompt_tokens = self.completion_tokens = 0
        self._logged = False

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def finish(self, outcome: str, status: int, reason: str = "") -> None:
        """outcome: ok | error | cancelled | invalid | rejected. Logged once."""
        if self._logged:
            return
        self._logged = True
        ttft = f"{self.first_token - self.started:.3f}s" if self.first_token else "-"
        why = f" reason={reason}" if reason else ""
        log.info("request %s %s model=%s stream=%s outcome=%s status=%d prompt_tokens=%d "
                 "completion_tokens=%d ttft=%s duration=%.3fs%s", self.id, self.path, self.model,
                 str(self.stream).lower(), outcome, status, self.prompt_tokens,
                 self.completion_tokens, ttft, time.perf_counter() - self.started, why)
