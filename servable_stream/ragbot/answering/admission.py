"""Admission control: at most N generations at once, a bounded queue, refusal beyond it.

Independent of the LLM backend: a "generation" is an admitted request, from admission
until its answer is closed or exhausted. A request that finds every slot taken waits in
a FIFO queue of at most `max_queued`; a request that finds the queue full too is refused
at once with OverloadedError (RESOURCE_EXHAUSTED on the wire).
"""
from __future__ import annotations

import threading
from collections import deque

from .. import metrics
from ..errors import OverloadedError


class Slot:
    """One admitted request; `release()` is idempotent."""

    def __init__(self, admission: "Admission"):
        self._admission = admission
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._admission._release()


class Admission:
    def __init__(self, max_active: int, max_queued: int):
        if max_active < 1 or max_queued < 0:
            raise ValueError("max_active must be >= 1 and max_queued >= 0")
        self.max_active = max_active
        self.max_queued = max_queued
        self._cond = threading.Condition()
        self._active = 0
        self._queue: deque = deque()  # waiting tickets, first come first served

    @property
    def active(self) -> int:
        return self._active

    @property
    def queued(self) -> int:
        return len(self._queue)

    def admit(self, cancel: threading.Event | None = None) -> Slot | None:
        """Wait for a slot (FIFO); OverloadedError at once when the queue is full.

        A set `cancel` event gives up waiting (OverloadedError is not raised then: the
        caller sees None and treats the request as cancelled)."""
        with self._cond:
            if self._active < self.max_active and not self._queue:
                return self._take()
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
                return self._take()
            finally:
                self._queue.remove(ticket)
                metrics.QUEUED_REQUESTS.dec()
                self._cond.notify_all()

    def _take(self) -> Slot:
        self._active += 1
        metrics.ACTIVE_STREAMS.inc()
        return Slot(self)

    def _release(self) -> None:
        with self._cond:
            self._active -= 1
            metrics.ACTIVE_STREAMS.dec()
            self._cond.notify_all()
