"""Watch docs.txt and the local files it lists; rebuild the index in the background.

Watches the FOLDERS (docs.txt's and each listed file's), not the files: editors save by
writing a temp file and renaming it over the original, and a Kubernetes ConfigMap
update swaps a `..data` symlink in the mounted folder; neither touches the old inode.
Any event in a watched folder only marks "maybe changed"; after a quiet period
(debounce) the content fingerprint (docs.txt + listed local files) decides whether to
rebuild. The old index keeps answering during a rebuild and stays if it fails; a
change during a rebuild causes exactly one more rebuild afterwards.

URLs cannot be watched: a `RefreshSchedule` (DOCS_REFRESH_SECONDS, jittered) re-checks them
with a rebuild whose fetches are conditional, so only pages that changed upstream are
downloaded and embedded. Any rebuild restarts the schedule (it has just checked every URL).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .documents import is_url, local_path, read_entries
from .index import IndexHolder
from .schedule import RefreshSchedule

if TYPE_CHECKING:
    from .ingest import Indexer

log = logging.getLogger(__name__)

MAX_DELAY_FACTOR = 10  # a continuous stream of events delays a rebuild at most this many quiet periods


class DocsWatcher:
    """Rebuilds with `indexer` (its docs.txt, its fingerprint) and swaps into `holder`."""

    def __init__(self, indexer: "Indexer", holder: IndexHolder, *, debounce: float,
                 refresh: RefreshSchedule | None = None):
        self._indexer = indexer
        self._docs_file = Path(os.path.abspath(indexer.docs_file))  # NOT resolved: symlinks get swapped
        self._holder = holder
        self._debounce = debounce
        self._refresh = refresh or RefreshSchedule(0)
        self._due: float | None = None  # time.monotonic() of the next scheduled refresh
        self._last = indexer.fingerprint  # of the index that answers now (None: not built yet)
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._forced = False
        self._observer = None
        self._watches: dict[str, object] = {}
        self._worker = threading.Thread(target=self._run, name="docs-reindex", daemon=True)
        self.rebuilds = 0  # successful swaps, for logs and tests
        self.failures = 0
        self.refreshes = 0  # scheduled refreshes run

    def start(self) -> "DocsWatcher":
        from watchdog.observers import Observer

        if self._last is None:
            self._last = self._indexer.current_fingerprint()
        self._observer = Observer()
        self._observer.daemon = True
        self._observer.start()
        self._update_watches()
        self._schedule()
        self._worker.start()
        log.info("watching %s (and the local files it lists) for changes; URLs %s",
                 self._docs_file, f"refreshed every {self._refresh.interval:g} s"
                 if self._refresh.enabled else "not refreshed (DOCS_REFRESH_SECONDS=0)")
        return self

    @property
    def next_refresh_in(self) -> float | None:
        """Seconds until the next scheduled refresh (None: off)."""
        return None if self._due is None else max(0.0, self._due - time.monotonic())

    def request_rebuild(self) -> None:
        """Rebuild after the quiet period even if the fingerprint is unchanged (URLs)."""
        self._forced = True
        self._dirty.set()

    def notify(self) -> None:
        """Something may have changed: check the fingerprint after the quiet period."""
        self._dirty.set()

    @property
    def running(self) -> bool:
        return self._worker.is_alive()

    def stop(self) -> None:
        self._stopping.set()
        self._dirty.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join()
        if self._worker.is_alive():
            self._worker.join()

    # ------------------------------------------------------------------ internals
    def _folders(self) -> set[str]:
        folders = {str(self._docs_file.parent)}
        for entry in read_entries(self._docs_file):
            path = local_path(entry, self._docs_file.parent)
            if path is not None:
                folders.add(str(path.parent))
        return {f for f in folders if os.path.isdir(f)}

    def _update_watches(self) -> None:
        from watchdog.events import FileSystemEventHandler

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type not in ("opened", "closed_no_write"):
                    watcher.notify()

        try:
            wanted = self._folders()
            for folder in set(self._watches) - wanted:
                self._observer.unschedule(self._watches.pop(folder))
            for folder in wanted - set(self._watches):
                self._watches[folder] = self._observer.schedule(Handler(), folder, recursive=False)
        except Exception:  # e.g. a folder vanished meanwhile: keep the watches we have
            log.exception("could not update the watched folders")
        if str(self._docs_file.parent) not in self._watches:
            log.warning("not watching %s: folder %s does not exist", self._docs_file,
                        self._docs_file.parent)

    def _quiet_period(self) -> bool:
        """Wait until no event came for `debounce` seconds; False when stopping."""
        deadline = time.monotonic() + self._debounce * MAX_DELAY_FACTOR
        while True:
            self._dirty.clear()
            if self._stopping.wait(self._debounce):
                return False
            if not self._dirty.is_set() or time.monotonic() >= deadline:
                self._dirty.clear()
                return True

    def _schedule(self) -> None:
        report = self._indexer.last_report
        delay = self._refresh.next_delay(stale=bool(report is not None and report.stale))
        self._due = None if delay is None else time.monotonic() + delay

    def _run(self) -> None:
        while True:
            timeout = self.next_refresh_in
            woken = self._dirty.wait(timeout)
            if self._stopping.is_set():
                return
            if not woken:  # the refresh is due and nothing changed locally
                self._scheduled_refresh()
                continue
            if not self._quiet_period():
                return
            forced, self._forced = self._forced, False
            fingerprint = self._indexer.current_fingerprint()  # taken BEFORE rebuilding: later edits show as new
            if not forced and fingerprint == self._last:
                continue
            self._rebuild(fingerprint, f"{self._docs_file} or a listed file changed")

    def _scheduled_refresh(self) -> None:
        self.refreshes += 1
        urls = sum(1 for e in read_entries(self._docs_file) if is_url(e))
        fingerprint = self._indexer.current_fingerprint()
        if urls == 0 and fingerprint == self._last:
            self._schedule()  # no URL to re-check
            return
        self._rebuild(fingerprint, f"scheduled refresh of {urls} URL(s)")

    def _rebuild(self, fingerprint: str, why: str) -> None:
        try:
            log.info("%s: rebuilding the index", why)
            self._holder.swap(self._indexer.rebuild())
            self._last = fingerprint
            self.rebuilds += 1
        except Exception:
            self.failures += 1
            log.exception("index rebuild failed; the previous index keeps answering")
        self._update_watches()
        self._schedule()
