"""The host process's lifecycle, one object that cli.py creates and passes down: whether it is
shutting down, the stream workers still running and the streams still open, so that
shutdown can refuse new requests, give in-flight streams their grace and end the rest with
a clear error."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

log = logging.getLogger("ovms_host")

SHUTDOWN_MESSAGE = "Server is shutting down: the stream was ended before its answer finished"


class EndsForShutdown(Protocol):
    def end_for_shutdown(self, message: str) -> bool: ...


class ActiveWorkers:
    """Counts running stream workers so shutdown can wait for generators to close."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.count = 0

    def __enter__(self) -> "ActiveWorkers":
        with self._cond:
            self.count += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._cond:
            self.count -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count == 0, timeout)


class OpenSessions:
    """The open streams, so shutdown can end the ones still running with a clear error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: set[EndsForShutdown] = set()

    def add(self, session: EndsForShutdown) -> None:
        with self._lock:
            self._sessions.add(session)

    def discard(self, session: EndsForShutdown) -> None:
        with self._lock:
            self._sessions.discard(session)

    def end_all(self, message: str) -> int:
        """End every open stream; a running request gets `message` as its error. Returns
        how many requests were cut short."""
        with self._lock:
            sessions = list(self._sessions)
        return sum(s.end_for_shutdown(message) for s in sessions)


class Lifecycle:
    """Serving, then shutting down: new requests refused, in-flight streams drained."""

    def __init__(self) -> None:
        self.workers = ActiveWorkers()
        self.sessions = OpenSessions()
        self._shutting_down = threading.Event()

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down.is_set()

    def begin_shutdown(self) -> None:
        """From now on new streams and new requests on open streams are refused."""
        self._shutting_down.set()

    def end_streams(self, grace: float) -> None:
        """Give running streams `grace` seconds, then end them with SHUTDOWN_MESSAGE; open
        idle streams end as well."""
        if not self.workers.wait_idle(grace):
            cut = self.sessions.end_all(SHUTDOWN_MESSAGE)
            log.warning("Grace period over: ended %d in-flight stream(s) with an error", cut)
        self.sessions.end_all(SHUTDOWN_MESSAGE)  # idle open streams

    def wait_workers(self, timeout: float) -> None:
        """Wait for the workers to close their generators; log the ones that do not."""
        if not self.workers.wait_idle(timeout):
            log.warning("%d stream worker(s) still running after shutdown", self.workers.count)
