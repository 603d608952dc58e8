"""One writer among the replicas: whoever holds the key's advisory lock.

Every replica is a candidate: every KNOWLEDGE_POLL_SECONDS one that is not the writer tries
`pg_try_advisory_lock` on a connection of its own. The lock is the session's: it is held as
long as that connection lives, and PostgreSQL releases it the moment the writer's process or
connection dies, so another candidate takes over at its next try. The writer does all its
writing on that same connection (`WriterSession.use`): once the connection is gone, so is
every right to write, and a writer cut off from the database cannot publish over its
successor. The writer checks its connection every poll too, so it notices a lost database
and steps down at once; sooner when the store's health saw the database go (`wake`): a
restarted database has dropped every session and with it the lock, so a writer that waited
for its next poll would still call itself the writer while another replica already is.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import Callable

from ...errors import KnowledgeStoreError
from .dsn import Scrubber, connect

log = logging.getLogger(__name__)


class WriterSession:
    """The writer's connection (holding the lock); one user at a time."""

    def __init__(self, conn, scrub: Scrubber):
        self._conn = conn
        self._scrub = scrub
        self._lock = threading.Lock()
        self.alive = True

    @contextlib.contextmanager
    def use(self):
        """The connection, while this session still holds the lock; KnowledgeStoreError when
        it was lost (the right to write went with it)."""
        import psycopg

        with self._lock:
            if not self.alive:
                raise KnowledgeStoreError("this replica is no longer the knowledge writer (its "
                                          "database session was lost)")
            try:
                yield self._conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.alive = False
                raise KnowledgeStoreError(f"the knowledge store connection was lost: "
                                          f"{self._scrub.error(exc)}") from None

    def check(self) -> bool:
        """Still connected (and so still holding the lock)?"""
        try:
            with self.use() as conn:
                conn.execute("SELECT 1")
            return True
        except KnowledgeStoreError:
            return False

    def close(self) -> None:
        self.alive = False
        with contextlib.suppress(Exception):
            self._conn.close()  # releases the lock


class WriterElection:
    """Tries for the lock until it has it; `on_gain(session)` / `on_loss(why)` run in its thread."""

    def __init__(self, dsn: str, lock_id: int, poll: float, application: str, scrub: Scrubber,
                 on_gain: Callable[[WriterSession], None], on_loss: Callable[[str], None],
                 on_error: Callable[[str], None]):
        self._dsn, self._lock_id, self._poll = dsn, lock_id, poll
        self._application, self._scrub = application, scrub
        self._on_gain, self._on_loss, self._on_error = on_gain, on_loss, on_error
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="knowledge-election", daemon=True)
        self.session: WriterSession | None = None

    def start(self) -> "WriterElection":
        self._thread.start()
        return self

    @property
    def is_writer(self) -> bool:
        return self.session is not None and self.session.alive

    def wake(self) -> None:
        """Check the session (or try for the lock) now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """No more tries, no new term (the session, if any, stays until `release`)."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    def release(self) -> None:
        """Close the writer's session: the lock goes to another replica."""
        self._end("the service is closing", notify=False)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.session is None:
                self._try()
            elif not self.session.check():
                self._end("its database session was lost", notify=True)
                continue  # try again at once: the database may be back already
            self._wake.wait(self._poll)
            self._wake.clear()

    def _try(self) -> None:
        import psycopg

        try:
            conn = connect(self._dsn, self._application)
        except (psycopg.Error, OSError) as exc:
            self._on_error(self._scrub.error(exc))
            return
        try:
            held = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._lock_id,)).fetchone()[0]
        except (psycopg.Error, OSError) as exc:
            conn.close()
            self._on_error(self._scrub.error(exc))
            return
        if not held:
            conn.close()  # another replica writes; try again next poll
            return
        self.session = WriterSession(conn, self._scrub)
        try:
            self._on_gain(self.session)
        except Exception as exc:  # noqa: BLE001 - give the lock back rather than hold it idle
            log.exception("could not start writing the knowledge base")
            self._end(f"starting failed: {self._scrub.error(exc)}", notify=True)

    def _end(self, why: str, notify: bool) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        session.close()
        if notify:
            self._on_loss(why)
