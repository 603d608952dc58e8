"""Every replica follows the published version: LISTEN for the writer's NOTIFY, and poll every
KNOWLEDGE_POLL_SECONDS as the fallback (a notification lost while disconnected, a pooler that
does not pass LISTEN through). A newer version is read into memory and swapped in whole; the
version this process published itself was swapped in by its own writer already.

The follower's connection is also how a replica knows whether the database is there: when it
is lost the replica goes on answering from the version it holds, says so once in the log and
in its status, reconnects with a short backoff, and catches up as soon as it is back.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from ..store import PublishedVersion
from . import versions
from .dsn import Scrubber, connect
from .health import StoreHealth
from .schema import CHANNEL

log = logging.getLogger(__name__)

RECONNECT_MIN_SECONDS = 0.5


class VersionFollower:
    def __init__(self, dsn: str, key: str, poll: float, application: str, scrub: Scrubber,
                 health: StoreHealth, follow: Callable[[object, PublishedVersion], None]):
        self._dsn, self._key, self._poll = dsn, key, poll
        self._application, self._scrub, self._health = application, scrub, health
        self._follow = follow  # (connection, the newest version) -> read and swap it if newer
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="knowledge-follower", daemon=True)
        self._conn = None
        self.latest: PublishedVersion | None = None  # the newest version seen published
        self.checks = 0

    def start(self) -> "VersionFollower":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(self._poll + 5)
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _run(self) -> None:
        import psycopg

        backoff = RECONNECT_MIN_SECONDS
        while not self._stopping.is_set():
            try:
                self._conn = connect(self._dsn, self._application)
                self._conn.execute(f"LISTEN {CHANNEL}")
                self._health.ok()
                backoff = RECONNECT_MIN_SECONDS
                while not self._stopping.is_set():
                    self._check()
                    # wakes on the first NOTIFY, or after one poll interval without any
                    for _ in self._conn.notifies(timeout=self._poll, stop_after=1):
                        pass
            except (psycopg.Error, OSError) as exc:
                if self._stopping.is_set():
                    return
                self._health.lost(self._scrub.error(exc))
            except Exception:  # noqa: BLE001 - a bad version must not end the following
                log.exception("following the published knowledge version failed; retrying")
            finally:
                conn, self._conn = self._conn, None
                if conn is not None:
                    try:
                        conn.close()
                    except Exception:  # noqa: BLE001
                        pass
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, self._poll)

    def _check(self) -> None:
        self.checks += 1
        latest = versions.latest(self._conn, self._key)
        self._health.ok()  # reachable (e.g. after the election's connect failed meanwhile)
        if latest is None:
            return
        self.latest = latest
        self._follow(self._conn, latest)
