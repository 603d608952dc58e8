"""One INFO line per chat request for the operator: what came in, outcome, status, tokens,
timings.

What came in is read from the body as soon as it is JSON, before it is validated, so a
refused request is logged with the model and stream it asked for (`-` where the body did not
say or could not be read), its kind (chat or task, and why) and how many tools it offered.
Never the user's text: questions and answers stay out of the log.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

__all__ = ["RequestRecord"]

log = logging.getLogger("gateway.requests")


class RequestRecord:
    def __init__(self, path: str, client: str = "-", metrics=None):
        self.id = uuid.uuid4().hex[:12]
        self.path = path
        self.client = client
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.model = "-"
        self.stream = "-"
        self.kind = "-"
        self.tools = 0
        self.prompt_tokens = self.completion_tokens = 0
        self._metrics = metrics
        self._logged = False

    def saw_body(self, body: dict[str, Any]) -> None:
        """What the client asked for, whether or not the request turns out valid."""
        model, stream, tools = body.get("model"), body.get("stream"), body.get("tools")
        if isinstance(model, str) and model:
            self.model = model[:200]
        if isinstance(stream, bool) or stream is None:  # OpenAI's default: not streamed
            self.stream = str(bool(stream)).lower()
        if isinstance(tools, list):
            self.tools = len(tools)

    def classified(self, kind: str, why: str) -> None:
        self.kind = kind if why in ("question", kind) else f"{kind}({why.replace(' ', '_')})"

    def token(self) -> None:
        if self.first_token is None:
            self.first_token = time.perf_counter()

    def finish(self, outcome: str, status: int, reason: str = "") -> None:
        """outcome: ok | error | cancelled | invalid | rejected | unauthorized. Logged once."""
        if self._logged:
            return
        self._logged = True
        if self._metrics is not None:
            self._metrics.requests.labels(self.kind.split("(")[0] if self.kind != "-" else "unknown",
                                          outcome).inc()
        ttft = f"{self.first_token - self.started:.3f}s" if self.first_token else "-"
        why = f" reason={reason}" if reason else ""
        tools = f" tools_ignored={self.tools}" if self.tools and status < 400 else \
            (f" tools={self.tools}" if self.tools else "")
        log.info("request %s %s client=%s model=%s stream=%s kind=%s%s outcome=%s status=%d "
                 "prompt_tokens=%d completion_tokens=%d ttft=%s duration=%.3fs%s", self.id,
                 self.path, self.client, self.model, self.stream, self.kind, tools, outcome, status,
                 self.prompt_tokens, self.completion_tokens, ttft,
                 time.perf_counter() - self.started, why)
