"""Admission control: at most N generations at once, a bounded queue, refusal beyond it;
background requests after the questions people wait for.

Independent of the LLM backend: a "generation" is an admitted request, from admission
until its answer is closed or exhausted. A request that finds every slot taken waits in
a FIFO queue of at most `max_queued`; a request that finds the queue full too is refused
at once with OverloadedError (RESOURCE_EXHAUSTED on the wire).

A *background* request (the wire's `"background": true`: a chat client's own title, tags or
follow-ups) is admitted only once the interactive ones have been quiet for BACKGROUND_GRACE_S:
none waiting for its first token, none arrived or given its first token in that time (a
client sends its title request beside the question, and the question, which retrieves first,
would otherwise reach the model second; a first token also needs a moment to reach the
client before a background prefill takes the cores). It waits at most BACKGROUND_MAX_WAIT_S,
so it is late, never lost. The grace is seconds, not milliseconds: Open WebUI 0.12.4 asks for
a new chat's title as soon as the chat is created, before it has prepared the question's own
request (its tools, memory, files); the real client was seen sending the title 0.6 s ahead. Measured with Open WebUI's
title request beside the first question (benchmarks/owui_bench.py): without this the
optimum backend, one generation at a time, made the question wait for the whole title.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from .. import metrics
from ..errors import OverloadedError

BACKGROUND_GRACE_S = 2.0
BACKGROUND_MAX_WAIT_S = 60.0


class Slot:
    """One admitted request; `first_token()` and `release()` are idempotent."""

    def __init__(self, admission: "Admission", interactive: bool = True):
        self._admission = admission
        self._released = False
        self._awaiting_first = interactive  # counted in Admission.awaiting_first

    def first_token(self) -> None:
        """The answer's first text is out: background requests may go."""
        if self._awaiting_first:
            self._awaiting_first = False
            self._admission._first_token()

    def release(self) -> None:
        self.first_token()
        if not self._released:
            self._released = True
            self._admission._release()


class Admission:
    """`on_idle` (optional) is called, outside the lock, each time the last active request is
    released with none waiting: the server has gone quiet (RagService trims the heap then)."""

    def __init__(self, max_active: int, max_queued: int, on_idle: Callable[[], None] | None = None):
        if max_active < 1 or max_queued < 0:
            raise ValueError("max_active must be >= 1 and max_queued >= 0")
        self.max_active = max_active
        self.on_idle = on_idle
        self.max_queued = max_queued
        self._cond = threading.Condition()
        self._active = 0
        self._queue: deque = deque()  # waiting tickets, first come first served
        self._awaiting_first = 0  # interactive requests from arrival to their first token
        self._interactive_at = float("-inf")  # the last interactive arrival or first token

    @property
    def active(self) -> int:
        return self._active

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def awaiting_first(self) -> int:
        return self._awaiting_first

    def admit(self, cancel: threading.Event | None = None, background: bool = False) -> Slot | None:
        """Wait for a slot (FIFO); OverloadedError at once when the queue is full.

        A set `cancel` event gives up waiting (OverloadedError is not raised then: the
        caller sees None and treats the request as cancelled). `background`: first wait
        until no interactive request awaits its first token (module docstring)."""
        if background and not self._wait_for_quiet(cancel):
            return None
        interactive = not background
        if interactive:
            with self._cond:
                self._awaiting_first += 1
                self._interactive_at = time.monotonic()
        try:
            slot = self._admit(cancel, interactive)
        except BaseException:
            if interactive:
                self._first_token()
            raise
        if slot is None and interactive:
            self._first_token()
        return slot

    def _wait_for_quiet(self, cancel: threading.Event | None) -> bool:
        arrived = time.monotonic()
        with self._cond:
            while True:
                if cancel is not None and cancel.is_set():
                    return False
                now = time.monotonic()
                if now - arrived >= BACKGROUND_MAX_WAIT_S:
                    return True
                quiet = now - max(arrived, self._interactive_at)
                if self._awaiting_first == 0 and quiet >= BACKGROUND_GRACE_S:
                    return True
                self._cond.wait(max(0.01, min(0.1, BACKGROUND_GRACE_S - quiet)))

    def _admit(self, cancel: threading.Event | None, interactive: bool) -> Slot | None:
        with self._cond:
            if self._active < self.max_active and not self._queue:
                return self._take(interactive)
            if len(self._queue) >= self.max_queued:
                raise OverloadedError(
                    f"server busy: {self._active} answers are being generated and "
                    f"{len(self._queue)} requests are waiting (MAX_CONCURRENT_STREAMS="
                    f"{self.max_active}, MAX_QUEUED_REQUESTS={self.max_queued}); retry later"
                )
            ticket = object()
            self._queue.append(ticket)
            metrics.QUEUED_REQUESTS.inc()
            try:
                while not (self._queue[0] is ticket and self._active < self.max_active):
                    if cancel is not None and cancel.is_set():
                        return None
                    self._cond.wait(0.1 if cancel is not None else None)
                return self._take(interactive)
            finally:
                self._queue.remove(ticket)
                metrics.QUEUED_REQUESTS.dec()
                self._cond.notify_all()

    def _take(self, interactive: bool = True) -> Slot:
        self._active += 1
        metrics.ACTIVE_STREAMS.inc()
        return Slot(self, interactive)

    def _first_token(self) -> None:
        with self._cond:
            self._awaiting_first -= 1
            self._interactive_at = time.monotonic()
            self._cond.notify_all()

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            metrics.ACTIVE_STREAMS.dec()
            self._cond.notify_all()
            idle = self._active == 0 and not self._queue
        if idle and self.on_idle is not None:
            self.on_idle()
