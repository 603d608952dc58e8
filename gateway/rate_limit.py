"""Per-client rate limiting: a token bucket per client address.

Each client (the connection's address; behind a proxy that is the proxy, so put the limit
where the clients are seen) may send `burst` chat requests at once and then `rate` per
minute. Beyond that a request is refused with 429 and a Retry-After header saying when the
next one will pass. The gateway keeps no other state between requests, so each replica
limits on its own. Buckets idle long enough to be full again are forgotten.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from gateway.errors import RateLimitedError

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.per_second = per_minute / 60.0
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def check(self, client: str) -> None:
        """Take one token for `client` or raise RateLimitedError."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = math.ceil((1.0 - tokens) / self.per_second)
                raise RateLimitedError(
                    f"too many requests from this client: at most {self.per_second * 60:g} per "
                    f"minute (bursts of {self.burst}); retry in {wait} s", retry_after=wait)
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > 10000:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.per_second
        self._buckets = {c: (t, at) for c, (t, at) in self._buckets.items() if now - at < refill}
