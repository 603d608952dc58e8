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

Where records live between rebuilds is the `RecordStore` (store.py: INDEX_DIR files, or the
shared PostgreSQL knowledge base). New content whose sha256 the store already holds (a renamed
file, or a document a writer that died had embedded) is reused, not embedded again. Documents
are embedded as the entries are read (in batches of up to EMBED_BATCH chunks, and before any
URL is fetched) and each is handed to `RecordStore.keep` at once: a rebuild that dies halfway
leaves every document it finished for the next one.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from langchain_core.embeddings import Embeddings

from ..errors import DocumentError
from ..settings import Settings
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
from .index_store import VERSION as FORMAT_VERSION
from .index_store import DocRecord, IndexKey
from .rebuild import PROGRESS_MIN_ENTRIES, RebuildProgress, RebuildReport
from .store import RecordStore
from .times import utc_iso

log = logging.getLogger(__name__)

PROGRESS_MIN_CHUNKS = 200  # show a progress bar when embedding at least this many
EMBED_BATCH = 64  # chunks of consecutive new documents embedded together


def index_key(embeddings: Embeddings, embedding_model: str, chunk_size: int,
              chunk_overlap: int) -> IndexKey:
    """What stored vectors depend on: the embedding model (and precision, and how its weights
    are stored: "all-mpnet-base-v2~int8_asym"), its dimension, the chunking."""
    dimension = getattr(embeddings, "dimension", None)
    if dimension is None:
        dimension = len(embeddings.embed_query("dimension probe"))
    weights = getattr(embeddings, "weights", None)
    name = f"{embedding_model}~{weights}" if weights else embedding_model
    return IndexKey(name, int(dimension), chunk_size, chunk_overlap, FORMAT_VERSION)


class Indexer:
    """Builds KnowledgeIndex objects for one docs.txt; one rebuild at a time."""

    def __init__(self, docs_file: Path, embeddings: Embeddings, *, embedding_model: str,
                 chunk_size: int, chunk_overlap: int, policy: FetchPolicy,
                 records: RecordStore):
        self.docs_file = Path(docs_file)
        self.embeddings = embeddings
        self.embedding_model = embedding_model
        self.chunk_size, self.chunk_overlap = chunk_size, chunk_overlap
        self.policy = policy
        self.records = records  # where documents' chunks and vectors live (local_store, postgres)
        self.listeners: list[Callable[[RebuildReport], None]] = []
        self.last_report: RebuildReport | None = None
        self.fingerprint: str | None = None  # docs_fingerprint of the last successful rebuild
        self.progress: RebuildProgress | None = None  # while a rebuild runs
        self._previous: dict[str, DocRecord] | None = None  # None: not loaded from the store yet
        self._built: tuple[tuple, KnowledgeIndex] | None = None  # (content signature, index)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, embeddings: Embeddings,
                      records: RecordStore) -> "Indexer":
        return cls(
            settings.docs_file, embeddings, embedding_model=settings.embedding_index_name,
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
            policy=FetchPolicy(max_bytes=settings.docs_max_bytes,
                               timeout=settings.docs_fetch_timeout,
                               allow_private=settings.docs_allow_private_urls),
            records=records,
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
    def key(self) -> IndexKey:
        return index_key(self.embeddings, self.embedding_model, self.chunk_size, self.chunk_overlap)

    def _load_previous(self, key: IndexKey) -> dict[str, DocRecord]:
        if self._previous is not None:
            return self._previous
        return self.records.load(key)

    def _rebuild(self, report: RebuildReport, started: float) -> KnowledgeIndex:
        key = self.key()
        previous = self._load_previous(key)
        splitter = make_splitter(self.chunk_size, self.chunk_overlap)
        entries = read_entries(self.docs_file)
        report.entries = list(entries)
        self.progress = RebuildProgress(len(entries))
        embedding = _Embedding(self, key, report, many=len(entries) >= PROGRESS_MIN_ENTRIES)
        records: list[DocRecord] = []
        try:
            for entry in entries:
                if is_url(entry):
                    embedding.flush()  # what is embedded is kept before waiting on the network
                record = self._plan_entry(entry, previous.get(entry), splitter, report, key)
                if record is not None:
                    records.append(record)
                    if record.vectors is None:
                        embedding.add(record)
                self.progress.step()
            embedding.flush()
        finally:
            embedding.close()
        kept = {r.entry for r in records}
        report.removed = [e for e in previous if e not in kept]
        report.documents = len(records)
        report.chunks = sum(len(r.chunks) for r in records)
        index = self._index(records, report, started)
        report.seconds = time.monotonic() - started  # what a published version's report says
        report.finished_at = time.time()
        version = self.records.save(key, records, report)
        if version is not None:
            index = replace(index, version=version)
        self._previous = {r.entry: r for r in records}
        report.seconds = time.monotonic() - started
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

    def _plan_entry(self, entry: str, old: DocRecord | None, splitter, report: RebuildReport,
                    key: IndexKey) -> DocRecord | None:
        """The record of one entry (vectors None: still to embed), or None when it is not indexed."""
        validators = (Validators(old.etag, old.last_modified)
                      if old is not None and is_url(entry) else None)
        try:
            raw = fetch_entry(entry, self.docs_file.parent, self.policy, validators)
            now = time.time()
            if raw.not_modified or (old is not None and old.sha256 == raw.sha256):
                report.unchanged.append(entry)
                if raw.not_modified:
                    report.not_modified.append(entry)
                return _confirmed(old, raw, now)
            stored = self.records.reusable(key, raw.sha256)
            chunks = (split_raw(raw, splitter) if stored is None
                      else stored.chunks_for(entry))
        except (DocumentError, OSError) as exc:
            if old is not None and getattr(exc, "transient", False):
                note = f"kept the copy from {utc_iso(old.fetched_at) or 'an earlier run'}: {exc}"
                log.warning("document %s: %s", entry, note)
                report.stale.append((entry, note))
                return old
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
        (report.changed if old is not None else report.added).append(entry)
        if stored is not None:
            report.reused.append(entry)
            return DocRecord(entry, raw.sha256, chunks, stored.vectors, stored.terms, now,
                             raw.validators.etag, raw.validators.last_modified)
        return DocRecord(entry, raw.sha256, chunks, None, [], now,
                         raw.validators.etag, raw.validators.last_modified)

    def _notify(self, report: RebuildReport) -> None:
        self.last_report = report
        for listener in list(self.listeners):
            try:
                listener(report)
            except Exception:
                log.exception("rebuild listener failed")


class _Embedding:
    """New documents waiting to be embedded; each flush embeds them together, gives each its
    vectors and BM25 terms (only new or changed documents are tokenised) and hands it to the
    RecordStore at once."""

    def __init__(self, indexer: Indexer, key: IndexKey, report: RebuildReport, many: bool):
        self.indexer, self.key, self.report, self.many = indexer, key, report, many
        self.pending: list[DocRecord] = []
        self.bar = None

    def add(self, record: DocRecord) -> None:
        self.pending.append(record)
        if sum(len(r.chunks) for r in self.pending) >= EMBED_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        texts = [context_text(c) for r in pending for c in r.chunks]
        if self.bar is None and (self.many or len(texts) >= PROGRESS_MIN_CHUNKS):
            from tqdm import tqdm

            self.bar = tqdm(desc="embedding chunks", unit="chunk")
        vectors = embed_in_order(texts, self.indexer.embeddings,
                                 progress=self.bar.update if self.bar is not None else None)
        if vectors.shape[1] != self.key.dimension:
            raise RuntimeError(f"embedding dimension {vectors.shape[1]} != {self.key.dimension}")
        offset = 0
        for record in pending:
            n = len(record.chunks)
            record.vectors = vectors[offset:offset + n]
            record.terms = [terms(t) for t in texts[offset:offset + n]]
            offset += n
            self.indexer.records.keep(self.key, record)
        self.report.embedded_chunks += len(texts)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _confirmed(old: DocRecord, raw, now: float) -> DocRecord:
    """The copy we hold, confirmed current at `now` (304, or the same bytes again)."""
    fresh = raw.validators
    if raw.not_modified:  # a 304 need not repeat the validators: keep ours then
        fresh = Validators(fresh.etag or old.etag, fresh.last_modified or old.last_modified)
    return replace(old, fetched_at=now, etag=fresh.etag, last_modified=fresh.last_modified)
