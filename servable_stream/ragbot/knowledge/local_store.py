"""KNOWLEDGE_STORE=local: this replica's own index, built from docs.txt and persisted in
INDEX_DIR (index_store.py), as one machine always did.

`LocalRecords` is the Indexer's RecordStore over the INDEX_DIR files (no persistence when
INDEX_DIR is off or not writable); `LocalStore` is the service's KnowledgeStore: the first
rebuild before it answers, then the DocsWatcher swapping each rebuild in.
"""
from __future__ import annotations

import logging
from pathlib import Path

from langchain_core.documents import Document

from ..errors import IndexStoreError
from . import index_store
from .index import IndexHolder, KnowledgeIndex
from .index_store import DocRecord, IndexKey
from .store import PublishedVersion, StoredContent

log = logging.getLogger(__name__)


class LocalRecords:
    """The records of the last rebuild, in memory and (with INDEX_DIR) on disk."""

    def __init__(self, index_dir: Path | None):
        self.index_dir = Path(index_dir) if index_dir else None
        self.persist = self.index_dir is not None and index_store.writable_dir(self.index_dir)
        self._by_sha: dict[str, DocRecord] = {}

    def load(self, key: IndexKey) -> dict[str, DocRecord]:
        records: dict[str, DocRecord] = {}
        if self.persist:
            try:
                records = index_store.load(self.index_dir, key)
            except (IndexStoreError, OSError, ValueError) as exc:
                log.warning("persisted index in %s failed validation (%s): rebuilding it",
                            self.index_dir, exc)
                records = {}
            if records:
                log.info("persisted index in %s: %d documents, %d chunks reusable", self.index_dir,
                         len(records), sum(len(r.chunks) for r in records.values()))
        self._by_sha = {r.sha256: r for r in records.values()}
        return records

    def reusable(self, key: IndexKey, sha256: str) -> StoredContent | None:
        """The same bytes under another entry (a renamed or copied file): not embedded again."""
        record = self._by_sha.get(sha256)
        if record is None:
            return None
        chunks = [Document(page_content=c.page_content,
                           metadata={k: v for k, v in c.metadata.items() if k != "source"})
                  for c in record.chunks]
        return StoredContent(chunks, record.vectors, record.terms)

    def keep(self, key: IndexKey, record: DocRecord) -> None:
        self._by_sha[record.sha256] = record

    def save(self, key: IndexKey, records: list[DocRecord], report) -> PublishedVersion | None:
        self._by_sha = {r.sha256: r for r in records}
        if self.persist:
            try:
                index_store.save(self.index_dir, key, records)
            except OSError as exc:
                log.warning("could not persist the index to %s (%s): it stays in memory only",
                            self.index_dir, exc)
        return None


class LocalStore:
    """KnowledgeStore: rebuild here, swap here; the watcher keeps it fresh."""

    kind = "local"

    def __init__(self, settings, embeddings):
        from .ingest import Indexer

        self.settings = settings
        self.indexer = Indexer.from_settings(settings, embeddings, LocalRecords(settings.index_dir))
        self.listeners = self.indexer.listeners  # every RebuildReport, failed ones included
        self.holder = IndexHolder(KnowledgeIndex.empty())
        self.watcher = None

    def start(self) -> "LocalStore":
        from .schedule import RefreshSchedule
        from .watcher import DocsWatcher

        from .. import metrics

        log.info("knowledge store: local (index in %s)", self.settings.index_dir or "memory only")
        metrics.record_store(up=True, writer=True)
        self.holder.swap(self.indexer.rebuild())
        self.watcher = DocsWatcher(
            self.indexer, self.holder, debounce=self.settings.docs_debounce_seconds,
            refresh=RefreshSchedule(self.settings.docs_refresh_seconds)).start()
        return self

    def status_parts(self):
        watcher = self.watcher
        return (self.indexer.last_report, self.indexer.progress,
                watcher.next_refresh_in if watcher is not None else None)

    def describe(self) -> dict:
        return {"kind": self.kind, "replica": self.settings.replica_name, "role": "writer",
                "connected": True, "index_dir": str(self.settings.index_dir or "") or None,
                "version": None}

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
