"""SharedStore: the service's KnowledgeStore on PostgreSQL (KNOWLEDGE_STORE=postgres).

    start   connect, create the tables if missing, read the newest published version (ready
            without embedding anything), then run the election and the follower
    writer  the replica holding the lock runs the one indexing path (ingest.Indexer with
            PgRecords + watcher.DocsWatcher), starting with a catch-up rebuild: only what
            changed since the published version is fetched and embedded
    reader  every replica follows the published version and swaps it in whole; an older
            version never replaces a newer one
    lost    the database gone: the replica answers from what it holds, the writer steps down,
            everyone reconnects and catches up

Every replica answers from memory (FAISS + BM25 over the published version), never from the
database: queries cost what they cost with the local store, and survive the database's
absence (benchmarks/README.md has the figures behind that choice).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid

from ... import metrics
from ...errors import KnowledgeStoreError
from ..index import IndexHolder, KnowledgeIndex
from ..store import PublishedVersion
from . import schema, versions
from .dsn import Scrubber, check, connect, connect_raw
from .election import WriterElection, WriterSession
from .follower import VersionFollower
from .health import StoreHealth
from .records import PgRecords

log = logging.getLogger(__name__)

CONNECT_SECONDS = 300.0  # at start: how long an unreachable database is retried before failing
WAITING_LOG_SECONDS = 30.0  # while waiting for the first version: a log line this often


class VersionHolder(IndexHolder):
    """An IndexHolder that only moves forward: an index of an older published version (a
    slow read that lost a race with the writer's own swap) is refused (and returned)."""

    def __init__(self, index: KnowledgeIndex):
        super().__init__(index)
        self._order = threading.Lock()

    def swap(self, index: KnowledgeIndex) -> KnowledgeIndex:
        with self._order:
            held = getattr(self.current.version, "id", 0)
            new = getattr(index.version, "id", 0)
            if new < held:
                log.info("not swapping in knowledge version %d: version %d answers already", new, held)
                return index
            return super().swap(index)


class _WriterTerm:
    """What runs while this replica is the writer."""

    def __init__(self, indexer, watcher):
        self.indexer, self.watcher = indexer, watcher


class SharedStore:
    kind = "postgres"

    def __init__(self, settings, embeddings):
        check(settings.knowledge_dsn)  # ConfigError now rather than a driver error later
        self.settings = settings
        self.embeddings = embeddings
        self.replica = settings.replica_name
        self.instance = uuid.uuid4().hex[:12]
        self.scrub = Scrubber(settings.knowledge_dsn)
        self.where = self.scrub.shown
        self.holder = VersionHolder(KnowledgeIndex.empty())
        self.listeners: list = []
        self.health = StoreHealth(self.where, self._serving)
        self.key = None  # IndexKey, once the embeddings' dimension is known (start)
        self.skey = ""
        self._term: _WriterTerm | None = None
        self._term_lock = threading.Lock()
        self._election: WriterElection | None = None
        self._follower: VersionFollower | None = None
        self._has_version = threading.Event()
        self.holder.listeners.append(self._swapped)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "SharedStore":
        from ..ingest import index_key

        s = self.settings
        self.key = index_key(self.embeddings, s.embedding_index_name, s.chunk_size, s.chunk_overlap)
        self.skey = schema.store_key(self.key)
        log.info("knowledge store: postgres at %s (replica %s, index key %s)", self.where,
                 self.replica, self.skey)
        conn = self._first_connection()
        try:
            newest = versions.latest(conn, self.skey)
            if newest is not None:
                self._follow(conn, newest)
        finally:
            conn.close()
        app = f"ragbot {self.replica}"
        poll = self.settings.knowledge_poll_seconds
        self._election = WriterElection(
            self.settings.knowledge_dsn, schema.writer_lock_id(self.skey), poll, app, self.scrub,
            on_gain=self._gained, on_loss=self._lost, on_error=self.health.lost).start()
        self.health.on_lost = self._election.wake  # a lost database took the writer's lock along
        self._follower = VersionFollower(self.settings.knowledge_dsn, self.skey, poll, app,
                                         self.scrub, self.health, self._follow).start()
        self._wait_for_a_version()
        return self

    def close(self) -> None:
        if self._follower is not None:
            self._follower.stop()
        if self._election is not None:
            self._election.stop()
        self._end_term()  # a rebuild running now finishes (or fails) first
        if self._election is not None:
            self._election.release()  # the lock goes to another replica
        metrics.record_store(up=False, writer=False)

    def _first_connection(self):
        """A connection with the schema in place; retried for CONNECT_SECONDS."""
        import psycopg

        deadline = time.monotonic() + CONNECT_SECONDS
        delay, logged = 0.5, 0.0
        while True:
            try:
                conn = connect_raw(self.settings.knowledge_dsn, f"ragbot {self.replica}")
                try:
                    schema.ensure(conn)
                finally:
                    conn.close()
                conn = connect(self.settings.knowledge_dsn, f"ragbot {self.replica}")
                self.health.ok()
                return conn
            except (psycopg.Error, OSError) as exc:
                why = self.scrub.error(exc)
                if time.monotonic() + delay > deadline:
                    raise KnowledgeStoreError(
                        f"the knowledge store {self.where} is unreachable after {CONNECT_SECONDS:g} s "
                        f"({why}); check KNOWLEDGE_DSN and that PostgreSQL (with pgvector) runs") from None
                if time.monotonic() - logged >= WAITING_LOG_SECONDS:
                    logged = time.monotonic()
                    log.warning("knowledge store %s not reachable yet (%s); retrying for up to %g s",
                                self.where, why, CONNECT_SECONDS)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _wait_for_a_version(self) -> None:
        """Until a published version answers. When this replica is the writer and its first
        build fails, that is the start-up's failure (as with the local store)."""
        started = logged = time.monotonic()
        while not self._has_version.wait(1.0):
            term = self._term
            report = term.indexer.last_report if term is not None else None
            if report is not None and not report.ok and not self._has_version.is_set():
                raise KnowledgeStoreError(f"building the first knowledge version failed: {report.error}")
            if time.monotonic() - logged >= WAITING_LOG_SECONDS:
                logged = time.monotonic()
                who = "this replica" if self.is_writer else "the writer"
                log.info("waiting for the first published knowledge version (%s builds it; %.0f s so far)",
                         who, logged - started)
        log.info("knowledge version %d answers (%s)", self.holder.current.version.id,
                 "written here" if self.is_writer else f"published by {self.holder.current.version.writer}")

    # ------------------------------------------------------------------ following
    def _follow(self, conn, newest: PublishedVersion) -> None:
        """Read and swap in `newest` if it is newer than what answers (follower thread, or start)."""
        current = self.holder.current
        held = getattr(current.version, "id", 0)
        if newest.id <= held or newest.instance == self.instance:
            return  # held already, or published here: the writer's own swap brings it
        started = time.monotonic()
        index = versions.read_index(conn, self.skey, newest, current, self.embeddings,
                                    self.key.dimension)
        self.holder.swap(index)
        log.info("knowledge version %d (published by %s at %s) loaded: %d documents, %d chunks "
                 "in %.2f s", newest.id, newest.writer, newest.to_json()["published"],
                 index.document_count, index.chunk_count, time.monotonic() - started)

    def _swapped(self, index: KnowledgeIndex) -> None:
        if index.version is not None:
            self._has_version.set()

    def _serving(self) -> str:
        current = self.holder.current
        if current.version is None:
            return "no version yet"
        return f"version {current.version.id} ({current.chunk_count} chunks)"

    # ------------------------------------------------------------------ writing
    @property
    def is_writer(self) -> bool:
        return self._election is not None and self._election.is_writer

    def _gained(self, session: WriterSession) -> None:
        from ..ingest import Indexer
        from ..schedule import RefreshSchedule
        from ..watcher import DocsWatcher

        records = PgRecords(session, writer=self.replica, instance=self.instance,
                            current=lambda: self.holder.current, embeddings=self.embeddings)
        indexer = Indexer.from_settings(self.settings, self.embeddings, records=records)
        indexer.listeners = self.listeners
        watcher = DocsWatcher(indexer, self.holder, debounce=self.settings.docs_debounce_seconds,
                              refresh=RefreshSchedule(self.settings.docs_refresh_seconds))
        with self._term_lock:
            self._term = _WriterTerm(indexer, watcher)
        log.info("this replica (%s) is the knowledge writer now: it checks %s and publishes what "
                 "changed", self.replica, self.settings.docs_file)
        metrics.record_store(writer=True)
        watcher.start()
        watcher.request_rebuild()  # catch up: docs.txt may have changed while no one wrote

    def _end_term(self) -> bool:
        with self._term_lock:
            term, self._term = self._term, None
        if term is not None:
            term.watcher.stop()
        return term is not None

    def _lost(self, why: str) -> None:
        self._end_term()
        log.warning("this replica (%s) is no longer the knowledge writer: %s; it tries again every "
                    "%g s", self.replica, why, self.settings.knowledge_poll_seconds)
        metrics.record_store(writer=False)

    # ------------------------------------------------------------------ status
    def status_parts(self):
        term = self._term
        current = self.holder.current
        if term is not None:
            return (term.indexer.last_report or current.report, term.indexer.progress,
                    term.watcher.next_refresh_in)
        return current.report, None, None

    def describe(self) -> dict:
        current = self.holder.current
        follower = self._follower
        latest = follower.latest if follower is not None else None
        return {"kind": self.kind, "database": self.where, "replica": self.replica,
                "role": "writer" if self.is_writer else "reader",
                **self.health.to_json(),
                "version": current.version.to_json() if current.version is not None else None,
                "latest_published": latest.id if latest is not None else None}
