"""Incremental (re)indexing: fetch every entry, embed only what is new or changed.

A document is identified by its docs.txt entry and compared by the sha256 of its bytes.
Unchanged documents keep their stored chunks and vectors (only while the embedding
model and chunk settings are the same: `IndexKey`), removed ones are dropped. A URL we
hold a copy of is fetched conditionally (its ETag / Last-Modified): a 304 costs no
download and no embedding. When a fetch fails transiently (timeout, DNS, connection,
HTTP 5xx/429) a document indexed before keeps its last good copy and is reported stale
("kept the copy from <time>: <why>"); 404/410 and removal from docs.txt drop it.
Each rebuild returns a new KnowledgeIndex carrying a `RebuildReport`; listeners (e.g.
metrics) get every report, failed ones included, without this module knowing about them.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from langchain_core.embeddings import Embeddings

from ..errors import DocumentError, IndexStoreError
from ..settings import Settings
from . import index_store
from .documents import (
    REMOVED,
    context_text,
    docs_fingerprint,
    fetch_entry,
    is_url,
    make_splitter,
    read_entries,
    split_raw,
)
from .fetching import FetchPolicy, Validators
from .keywords import terms
from .index import KnowledgeIndex, embed_in_order, index_from_records
from .index_store import DocRecord, IndexKey

log = logging.getLogger(__name__)

PROGRESS_MIN_CHUNKS = 200  # show a progress bar when embedding at least this many
PROGRESS_MIN_ENTRIES = 20  # log how far a rebuild is for lists at least this long
PROGRESS_EVERY_SECONDS = 10.0  # ... at each quarter, and at least this often


def utc_iso(epoch: float | None) -> str | None:
    """`2026-12-02T00:10:00Z` for log lines and the status JSON; None stays None."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    seconds: float = 0.0
    finished_at: float | None = None  # epoch seconds
    ok: bool = True
    error: str | None = None

    def summary(self) -> str:
        text = (f"{self.documents} documents (added {len(self.added)}, changed {len(self.changed)}, "
                f"removed {len(self.removed)}, unchanged {len(self.unchanged)} "
                f"({len(self.not_modified)} not modified), stale {len(self.stale)}, skipped "
                f"{len(self.skipped)}), {self.chunks} chunks ({self.embedded_chunks} embedded) "
                f"in {self.seconds:.2f} s")
        if self.stale:
            text += "; stale: " + "; ".join(f"{e} ({why})" for e, why in self.stale)
        if self.skipped:
            text += "; skipped: " + "; ".join(f"{e} ({why})" for e, why in self.skipped)
        return text


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


class Indexer:
    """Builds KnowledgeIndex objects for one docs.txt; one rebuild at a time."""

    def __init__(self, docs_file: Path, embeddings: Embeddings, *, embedding_model: str,
                 chunk_size: int, chunk_overlap: int, policy: FetchPolicy,
                 index_dir: Path | None = None):
        self.docs_file = Path(docs_file)
        self.embeddings = embeddings
        self.embedding_model = embedding_model
        self.chunk_size, self.chunk_overlap = chunk_size, chunk_overlap
        self.policy = policy
        self.index_dir = Path(index_dir) if index_dir else None
        self.listeners: list[Callable[[RebuildReport], None]] = []
        self.last_report: RebuildReport | None = None
        self.fingerprint: str | None = None  # docs_fingerprint of the last successful rebuild
        self.progress: RebuildProgress | None = None  # while a rebuild runs
        self._previous: dict[str, DocRecord] | None = None  # None: not loaded from disk yet
        self._built: tuple[tuple, KnowledgeIndex] | None = None  # (content signature, index)
        self._lock = threading.Lock()
        self._persist = self.index_dir is not None and index_store.writable_dir(self.index_dir)

    @classmethod
    def from_settings(cls, settings: Settings, embeddings: Embeddings) -> "Indexer":
        return cls(
            settings.docs_file, embeddings, embedding_model=settings.embedding_index_name,
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
            policy=FetchPolicy(max_bytes=settings.docs_max_bytes,
                               timeout=settings.docs_fetch_timeout,
                               allow_private=settings.docs_allow_private_urls),
            index_dir=settings.index_dir,
        )

    def current_fingerprint(self) -> str:
        return docs_fingerprint(self.docs_file, self.policy.max_bytes)

    def rebuild(self) -> KnowledgeIndex:
        """A new index for docs.txt as it is now; raises (and reports ok=False) on failure."""
        with self._lock:
            started = time.monotonic()
            report = RebuildReport()
            try:
                fingerprint = self.current_fingerprint()
                index = self._rebuild(report, started)
                self.fingerprint = fingerprint
            except Exception as exc:
                report.ok, report.error = False, f"{type(exc).__name__}: {exc}"
                report.seconds = time.monotonic() - started
                report.finished_at = time.time()
                self._notify(report)
                raise
            finally:
                self.progress = None
            log.info("index rebuilt: %s", report.summary())
            self._notify(report)
            return index

    # ------------------------------------------------------------------ internals
    def _key(self) -> IndexKey:
        dimension = getattr(self.embeddings, "dimension", None)
        if dimension is None:
            dimension = len(self.embeddings.embed_query("dimension probe"))
        return IndexKey(self.embedding_model, int(dimension), self.chunk_size, self.chunk_overlap)

    def _load_previous(self, key: IndexKey) -> dict[str, DocRecord]:
        if self._previous is not None:
            return self._previous
        if not self._persist:
            return {}
        try:
            records = index_store.load(self.index_dir, key)
        except (IndexStoreError, OSError, ValueError) as exc:
            log.warning("persisted index in %s failed validation (%s): rebuilding it", self.index_dir, exc)
            return {}
        if records:
            log.info("persisted index in %s: %d documents, %d chunks reusable", self.index_dir,
                     len(records), sum(len(r.chunks) for r in records.values()))
        return records

    def _rebuild(self, report: RebuildReport, started: float) -> KnowledgeIndex:
        key = self._key()
        previous = self._load_previous(key)
        splitter = make_splitter(self.chunk_size, self.chunk_overlap)
        entries = read_entries(self.docs_file)
        report.entries = list(entries)
        self.progress = RebuildProgress(len(entries))
        plan: list[tuple[str, DocRecord | None, list]] = []  # (entry, reused record, new chunks)
        for entry in entries:
            step = self._plan_entry(entry, previous.get(entry), splitter, report)
            if step is not None:
                plan.append(step)
            self.progress.step()
        kept = {entry for entry, _, _ in plan}
        report.removed = [e for e in previous if e not in kept]

        new_chunks = [c for _, _, chunks in plan for c in chunks]
        texts = [context_text(c) for c in new_chunks]
        vectors = self._embed(texts)
        new_terms = [terms(t) for t in texts]  # only new or changed documents are tokenised
        if len(new_chunks) and vectors.shape[1] != key.dimension:
            raise RuntimeError(f"embedding dimension {vectors.shape[1]} != {key.dimension}")
        records, offset = [], 0
        for entry, record, chunks in plan:
            if chunks:
                record = replace(record, vectors=vectors[offset:offset + len(chunks)],
                                 terms=new_terms[offset:offset + len(chunks)])
                offset += len(chunks)
            records.append(record)

        report.documents = len(records)
        report.chunks = sum(len(r.chunks) for r in records)
        report.embedded_chunks = len(new_chunks)
        index = self._index(records, report, started)
        if self._persist:
            try:
                index_store.save(self.index_dir, key, records)
            except OSError as exc:
                log.warning("could not persist the index to %s (%s): it stays in memory only",
                            self.index_dir, exc)
        self._previous = {r.entry: r for r in records}
        report.seconds = time.monotonic() - started
        report.finished_at = time.time()
        return index

    def _index(self, records: list[DocRecord], report: RebuildReport, started: float) -> KnowledgeIndex:
        """The index over `records`; when they hold the same chunks as the last one built (a
        refresh of 304s and unchanged files), its FAISS and BM25 structures are reused."""
        signature = tuple((r.entry, r.sha256) for r in records)
        if self._built is not None and self._built[0] == signature and not report.embedded_chunks:
            index = replace(self._built[1], records=tuple(records), report=report,
                            build_seconds=time.monotonic() - started)
        else:
            index = index_from_records(records, self.embeddings, started, report)
        self._built = (signature, index)
        return index

    def _plan_entry(self, entry: str, old: DocRecord | None, splitter, report: RebuildReport):
        """(entry, record, new chunks) for one entry, or None when it is not indexed."""
        validators = (Validators(old.etag, old.last_modified)
                      if old is not None and is_url(entry) else None)
        try:
            raw = fetch_entry(entry, self.docs_file.parent, self.policy, validators)
            now = time.time()
            if raw.not_modified or (old is not None and old.sha256 == raw.sha256):
                report.unchanged.append(entry)
                if raw.not_modified:
                    report.not_modified.append(entry)
                return entry, _confirmed(old, raw, now), []
            chunks = split_raw(raw, splitter)
        except (DocumentError, OSError) as exc:
            if old is not None and getattr(exc, "transient", False):
                note = f"kept the copy from {utc_iso(old.fetched_at) or 'an earlier run'}: {exc}"
                log.warning("document %s: %s", entry, note)
                report.stale.append((entry, note))
                return entry, old, []
            reason = str(exc)
            if old is not None:
                reason += " (its indexed copy is dropped)"
            log.warning("skipping document %s: %s", entry, reason)
            report.skipped.append((entry, reason))
            return None
        for chunk in chunks:
            if chunk.metadata.get(REMOVED):
                log.warning("document %s: cut text that addresses the assistant (%s)", entry,
                            chunk.metadata[REMOVED])
        record = DocRecord(entry, raw.sha256, chunks, None, [], now,
                           raw.validators.etag, raw.validators.last_modified)
        (report.changed if old is not None else report.added).append(entry)
        return entry, record, chunks

    def _embed(self, texts: list[str]):
        if len(texts) < PROGRESS_MIN_CHUNKS:
            return embed_in_order(texts, self.embeddings)
        from tqdm import tqdm

        with tqdm(total=len(texts), desc="embedding chunks", unit="chunk") as bar:
            return embed_in_order(texts, self.embeddings, progress=bar.update)

    def _notify(self, report: RebuildReport) -> None:
        self.last_report = report
        for listener in list(self.listeners):
            try:
                listener(report)
            except Exception:
                log.exception("rebuild listener failed")


def _confirmed(old: DocRecord, raw, now: float) -> DocRecord:
    """The copy we hold, confirmed current at `now` (304, or the same bytes again)."""
    fresh = raw.validators
    if raw.not_modified:  # a 304 need not repeat the validators: keep ours then
        fresh = Validators(fresh.etag or old.etag, fresh.last_modified or old.last_modified)
    return replace(old, fetched_at=now, etag=fresh.etag, last_modified=fresh.last_modified)
