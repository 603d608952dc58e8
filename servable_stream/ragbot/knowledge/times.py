"""Times as the log lines and the status JSON show them."""
from __future__ import annotations

from datetime import datetime, timezone


def utc_iso(epoch: float | None) -> str | None:
    """`2026-12-02T00:10:00Z` for log lines and the status JSON; None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
