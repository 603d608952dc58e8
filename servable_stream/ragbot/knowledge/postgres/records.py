"""The writer's RecordStore: ingest.Indexer reads and writes the shared knowledge base through
it, always on the writer's own session (election.WriterSession: it holds the lock).

    load      the records of the newest published version (those the replica already answers
              from when they are the newest: nothing is read again)
    reusable  content embedded before under this key (by any writer, e.g. one that died
              mid-rebuild): found by sha256, never embedded twice
    keep      a document just embedded, stored at once (one transaction per batch)
    save      publish the version (one transaction + NOTIFY), then prune old ones
"""
from __future__ import annotations

import logging
from typing import Callable

from ..index import KnowledgeIndex
from ..index_store import DocRecord, IndexKey
from ..store import PublishedVersion, StoredContent
from . import contents, versions
from .election import WriterSession
from .schema import store_key

log = logging.getLogger(__name__)


class PgRecords:
    def __init__(self, session: WriterSession, *, writer: str, instance: str,
                 current: Callable[[], KnowledgeIndex], embeddings):
        self.session = session
        self.writer, self.instance = writer, instance
        self._current = current  # the index this replica answers from
        self._embeddings = embeddings

    def load(self, key: IndexKey) -> dict[str, DocRecord]:
        skey = store_key(key)
        with self.session.use() as conn:
            newest = versions.latest(conn, skey)
            if newest is None:
                return {}
            current = self._current()
            if current.version is not None and current.version.id == newest.id:
                index = current
            else:
                index = versions.read_index(conn, skey, newest, current, self._embeddings, key.dimension)
        return {r.entry: r for r in index.records}

    def reusable(self, key: IndexKey, sha256: str) -> StoredContent | None:
        with self.session.use() as conn:
            return contents.read(conn, store_key(key), [sha256], key.dimension).get(sha256)

    def keep(self, key: IndexKey, record: DocRecord) -> None:
        with self.session.use() as conn:
            contents.put(conn, store_key(key), record, self.writer)

    def save(self, key: IndexKey, records: list[DocRecord], report) -> PublishedVersion:
        skey = store_key(key)
        with self.session.use() as conn:
            version = versions.publish(conn, skey, records, report, writer=self.writer,
                                       instance=self.instance)
            try:
                versions.prune(conn, skey)
            except Exception as exc:  # noqa: BLE001 - old versions can wait for the next publish
                log.warning("could not prune old knowledge versions: %s", type(exc).__name__)
        log.info("knowledge version %d published by %s: %d documents, %d chunks (%d embedded here) "
                 "in %.2f s", version.id, self.writer, version.documents, version.chunks,
                 report.embedded_chunks, report.seconds)
        return version
