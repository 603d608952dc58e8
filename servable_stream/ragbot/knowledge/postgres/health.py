"""Is the shared knowledge base reachable? One log line when it is lost, one when it is back
(not one per retry), and the fields the status JSON shows. A replica that lost it goes on
answering from the version it holds."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from ... import metrics
from ..times import utc_iso

log = logging.getLogger(__name__)


class StoreHealth:
    def __init__(self, where: str, serving: Callable[[], str]):
        self.where = where  # the redacted DSN
        self._serving = serving  # "version 12 (340 chunks)": what answers meanwhile
        self._lock = threading.Lock()
        self.connected = False
        self.lost_at: float | None = None  # epoch seconds
        self.error: str | None = None
        self.losses = 0
        self.on_lost: Callable[[], None] | None = None  # told once per loss (the election wakes)

    def ok(self) -> None:
        with self._lock:
            was_lost, lost_at = self.lost_at is not None, self.lost_at
            self.connected, self.lost_at, self.error = True, None, None
        metrics.record_store(up=True)
        if was_lost:
            log.info("knowledge store %s reachable again after %.1f s", self.where,
                     time.time() - lost_at)

    def lost(self, error: str) -> None:
        with self._lock:
            first = self.lost_at is None
            if first:
                self.lost_at = time.time()
                self.losses += 1
            self.connected, self.error = False, error
        metrics.record_store(up=False)
        if first:
            if self.on_lost is not None:
                self.on_lost()
            log.warning("knowledge store %s unreachable (%s): answering from %s until it is back",
                        self.where, error, self._serving())

    def to_json(self) -> dict:
        with self._lock:
            return {"connected": self.connected, "lost_since": utc_iso(self.lost_at),
                    "error": self.error}
