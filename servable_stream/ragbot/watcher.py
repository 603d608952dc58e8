"""Watch docs.txt and rebuild the index in the background when it changes.

The old index keeps answering during a rebuild and stays if the rebuild fails.
Bursts of file events (editors write several times) collapse into one rebuild.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

from .index import IndexHolder, KnowledgeIndex

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.3


class DocsWatcher:
    def __init__(self, docs_file: Path, holder: IndexHolder, rebuild: Callable[[], KnowledgeIndex]):
        self._docs_file = Path(docs_file).resolve()
        self._holder = holder
        self._rebuild = rebuild
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._observer = None
        self._worker = threading.Thread(target=self._run, name="docs-reindex", daemon=True)
        self.rebuilds = 0  # successful swaps, for logs and tests
        self.failures = 0

    def start(self) -> "DocsWatcher":
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        folder = self._docs_file.parent
        if not folder.is_dir():
            log.warning("not watching %s: folder %s does not exist", self._docs_file, folder)
            return self
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                paths = {getattr(event, "src_path", ""), getattr(event, "dest_path", "")}
                if any(p and Path(p).resolve() == watcher._docs_file for p in paths):
                    watcher.request_rebuild()

        self._observer = Observer()
        self._observer.schedule(Handler(), str(folder), recursive=False)
        self._observer.daemon = True
        self._observer.start()
        self._worker.start()
        log.info("watching %s for changes", self._docs_file)
        return self

    def request_rebuild(self) -> None:
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

    def _run(self) -> None:
        while True:
            self._dirty.wait()
            if self._stopping.wait(DEBOUNCE_SECONDS):
                return
            self._dirty.clear()
            try:
                log.info("%s changed: rebuilding the index", self._docs_file)
                self._holder.swap(self._rebuild())
                self.rebuilds += 1
            except Exception:
                self.failures += 1
                log.exception("index rebuild failed; the previous index keeps answering")
