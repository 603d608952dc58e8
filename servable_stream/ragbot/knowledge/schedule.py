"""When the next scheduled URL refresh is due (DOCS_REFRESH_SECONDS).

Each delay is the interval ± a random `jitter` fraction, so replicas started together do not
fetch every page in step. While a document is stale (its last fetch failed transiently) the
next refresh comes sooner, at most STALE_RETRY_SECONDS away, so it is back once it answers.
Cheap because fetches are conditional: an unchanged page answers 304 and nothing is embedded.
"""
from __future__ import annotations

import random

JITTER = 0.1  # each delay is interval * (1 ± JITTER)
STALE_RETRY_SECONDS = 300.0


class RefreshSchedule:
    def __init__(self, interval: float, *, jitter: float = JITTER, rng: random.Random | None = None):
        self.interval = max(0.0, float(interval))
        self.jitter = jitter
        self._rng = rng or random.Random()

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    def next_delay(self, stale: bool = False) -> float | None:
        """Seconds until the next refresh; None when refreshing is off (interval 0)."""
        if not self.enabled:
            return None
        base = min(self.interval, STALE_RETRY_SECONDS) if stale else self.interval
        return base * (1 + self._rng.uniform(-self.jitter, self.jitter))
