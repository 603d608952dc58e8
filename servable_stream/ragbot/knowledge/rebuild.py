"""What a rebuild reports: `RebuildReport` once it ended (added, changed, stale, skipped, how
many chunks were embedded, how long it took; carried by a published version to the other
replicas), `RebuildProgress` while it runs (the status reads it, long lists log each quarter).
Kept apart from ingest.py, which makes them, so that the store contract and the status can name
them without importing the indexing path."""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field, fields

log = logging.getLogger("ragbot.knowledge.ingest")  # the rebuild's lines, as before the split

PROGRESS_MIN_ENTRIES = 20  # log how far a rebuild is for lists at least this long
PROGRESS_EVERY_SECONDS = 10.0  # ... at each quarter, and at least this often


@dataclass
class RebuildReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # not_modified ones included
    not_modified: list[str] = field(default_factory=list)  # URLs that answered 304
    stale: list[tuple[str, str]] = field(default_factory=list)  # (entry, "kept the copy from ...")
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, reason): not indexed
    entries: list[str] = field(default_factory=list)  # docs.txt's entries, in order
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    reused: list[str] = field(default_factory=list)  # new content embedded before: not again
    seconds: float = 0.0
    finished_at: float | None = None  # epoch seconds
    ok: bool = True
    error: str | None = None

    def summary(self) -> str:
        text = (f"{self.documents} documents (added {len(self.added)}, changed {len(self.changed)}, "
                f"removed {len(self.removed)}, unchanged {len(self.unchanged)} "
                f"({len(self.not_modified)} not modified), stale {len(self.stale)}, skipped "
                f"{len(self.skipped)}), {self.chunks} chunks ({self.embedded_chunks} embedded"
                + (f", {len(self.reused)} documents' chunks reused" if self.reused else "")
                + f") in {self.seconds:.2f} s")
        if self.stale:
            text += "; stale: " + "; ".join(f"{e} ({why})" for e, why in self.stale)
        if self.skipped:
            text += "; skipped: " + "; ".join(f"{e} ({why})" for e, why in self.skipped)
        return text

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "RebuildReport":
        """The report a published version carries (another replica's rebuild)."""
        known = {f.name for f in fields(cls)}
        report = cls(**{k: v for k, v in data.items() if k in known})
        report.stale = [tuple(p) for p in report.stale]
        report.skipped = [tuple(p) for p in report.skipped]
        return report


@dataclass
class RebuildProgress:
    """How far the running rebuild is (read by the status while it runs)."""

    total: int
    started_at: float = field(default_factory=time.time)  # epoch seconds
    checked: int = 0
    _logged_at: float = field(default_factory=time.monotonic, repr=False)
    _quarter: int = field(default=0, repr=False)

    def step(self) -> None:
        """One more entry fetched (or failed); a log line at each quarter of a long list."""
        self.checked += 1
        if self.total < PROGRESS_MIN_ENTRIES or self.checked == self.total:
            return
        quarter = 4 * self.checked // self.total
        now = time.monotonic()
        if quarter > self._quarter or now - self._logged_at >= PROGRESS_EVERY_SECONDS:
            self._quarter, self._logged_at = quarter, now
            log.info("rebuilding the index: %d of %d documents checked (%d%%) in %.1f s",
                     self.checked, self.total, 100 * self.checked // self.total,
                     time.time() - self.started_at)
