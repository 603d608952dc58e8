"""One request's run: its id, its cancel switch and its stats, created once per request
(`RunContext.new`) and handed down from the service to the backend.

The backend fills `stats` as it generates; the service reads them for the end of the
answer and for the request's log line; anyone may `cancel()` from any thread.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field


@dataclass
class GenerationStats:
    """What one generation did: prompt and answer tokens, and why it ended."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "stop" | "length" | "cancelled" | "error"
    # steps of the LLM that yielded this answer's tokens (genai; 0: not counted): with prompt
    # lookup or a draft model one step can yield several. How, not what: not compared.
    model_steps: int = field(default=0, compare=False)

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


@dataclass(eq=False)
class RunContext:
    """One request's id, cancel switch, stats, arrival time and the answer text sent so far
    (the chain appends each piece it hands out; the wire's "answer" is read from here, also
    when the answer fails part-way)."""

    request_id: str
    cancel_event: threading.Event = field(default_factory=threading.Event)
    stats: GenerationStats = field(default_factory=GenerationStats)
    started: float = field(default_factory=time.monotonic)  # arrival: TTFT includes queueing
    rewrite_seconds: float | None = None  # a follow-up's search query was built (QUERY_REWRITE)
    sent: list[str] = field(default_factory=list)  # the answer's pieces as handed out

    @property
    def answer_text(self) -> str:
        return "".join(self.sent)

    @classmethod
    def new(cls) -> "RunContext":
        return cls(request_id=uuid.uuid4().hex[:12])

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()
