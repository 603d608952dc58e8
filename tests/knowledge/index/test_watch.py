"""Live reindexing: docs.txt edits (in place, by rename, by a ConfigMap-style symlink swap)
picked up while readers keep querying; one follow-up rebuild for changes during a rebuild."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from ragbot.knowledge.index import IndexHolder
from ragbot.knowledge.watcher import DocsWatcher

from tests.knowledge.index.conftest import wait_for
from tests.indexing import make_indexer

DEBOUNCE = 0.3
TOPICS = {
    "zorblat.txt": ("The zorblat is a purple fruit grown on the island of Kelvara.", "What colour is the zorblat?"),
    "bakery.txt": ("The Quantum Bakery in Millbrook opens at seven in the morning.", "When does the bakery open?"),
    "kelp.txt": ("Divers in Orvane Bay harvest green sea kelp in late spring.", "When is kelp harvested?"),
    "honey.txt": ("Hives in Hollow Vale give heather honey in August.", "When do the hives give honey?"),
}


def start(docs: Path, emb, watch: bool = True):
    indexer = make_indexer(docs, emb)
    holder = IndexHolder(indexer.rebuild())
    watcher = DocsWatcher(indexer, holder, debounce=DEBOUNCE).start() if watch else None
    return indexer, holder, watcher


def top_source(holder: IndexHolder, question: str) -> str | None:
    hits = holder.current.search(question, k=1)
    return hits[0][0].metadata["source"] if hits else None


class Readers:
    """Threads querying the current index continuously; every query must succeed."""

    def __init__(self, holder: IndexHolder, n: int = 3):
        self.holder, self.stop, self.errors, self.count = holder, threading.Event(), [], 0
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(n)]
        for t in self.threads:
            t.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                index = self.holder.current
                hits = index.search("When does the bakery open?", k=2)
                assert len(hits) == min(2, index.chunk_count)
                self.count += 1
            except Exception as exc:  # noqa: BLE001 - recorded for the assertion
                self.errors.append(repr(exc))

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(10)
        assert self.errors == [] and self.count > 10


def test_edits_in_place_and_by_rename_picked_up_while_queries_run(tmp_path, embeddings):
    for name, (text, _) in TOPICS.items():
        (tmp_path / name).write_text(text)
    docs = tmp_path / "docs.txt"
    docs.write_text("zorblat.txt\nbakery.txt\n")
    indexer, holder, watcher = start(docs, embeddings)
    readers = Readers(holder)
    try:
        with docs.open("a") as f:  # in place
            f.write("kelp.txt\n")
        assert wait_for(lambda: top_source(holder, TOPICS["kelp.txt"][1]) == "kelp.txt")
        # the keyword side was swapped with the vectors: BM25 alone finds the new document
        assert holder.current.search("Orvane kelp divers", k=1, mode="keyword")[0].doc.metadata["source"] == "kelp.txt"
        assert indexer.last_report.added == ["kelp.txt"] and indexer.last_report.embedded_chunks == 1

        tmp = tmp_path / ".docs.txt.swp"  # an editor's atomic save: write aside, rename over
        tmp.write_text("bakery.txt\nkelp.txt\nhoney.txt\n")
        os.replace(tmp, docs)
        assert wait_for(lambda: top_source(holder, TOPICS["honey.txt"][1]) == "honey.txt")
        assert wait_for(lambda: indexer.last_report.removed == ["zorblat.txt"])

        (tmp_path / "honey.txt").write_text("Hives in Hollow Vale now give clover honey in June.")
        assert wait_for(lambda: indexer.last_report.changed == ["honey.txt"])  # a listed file edited
        assert "clover" in holder.current.search("honey", k=1)[0][0].page_content
    finally:
        readers.finish()
        watcher.stop()
    assert watcher.failures == 0 and watcher.rebuilds == 3


def test_configmap_style_symlink_swap(tmp_path, embeddings):
    """Kubernetes mounts: docs.txt -> ..data/docs.txt, ..data -> ..v1; an update swaps ..data."""
    for version, listed in (("..v1", "zorblat.txt"), ("..v2", "honey.txt")):
        folder = tmp_path / version
        folder.mkdir()
        for name, (text, _) in TOPICS.items():
            (folder / name).write_text(text)
        (folder / "docs.txt").write_text(f"{listed}\n")
    os.symlink("..v1", tmp_path / "..data")
    for name in ["docs.txt", *TOPICS]:  # every key is a link through ..data
        os.symlink(f"..data/{name}", tmp_path / name)
    indexer, holder, watcher = start(tmp_path / "docs.txt", embeddings)
    try:
        assert top_source(holder, "honey") == "zorblat.txt"  # the only document
        os.symlink("..v2", tmp_path / "..data_tmp")
        os.replace(tmp_path / "..data_tmp", tmp_path / "..data")
        assert wait_for(lambda: top_source(holder, "honey") == "honey.txt")
    finally:
        watcher.stop()


def test_change_during_a_rebuild_causes_exactly_one_more(tmp_path, embeddings):
    for name, (text, _) in TOPICS.items():
        (tmp_path / name).write_text(text)
    docs = tmp_path / "docs.txt"
    docs.write_text("zorblat.txt\n")
    indexer, holder, _ = start(docs, embeddings, watch=False)
    started, release, calls = threading.Event(), threading.Event(), []
    real_rebuild = indexer.rebuild

    def slow_rebuild():
        calls.append(docs.read_text())
        started.set()
        release.wait(20)
        return real_rebuild()

    indexer.rebuild = slow_rebuild
    watcher = DocsWatcher(indexer, holder, debounce=DEBOUNCE).start()
    try:
        docs.write_text("zorblat.txt\nbakery.txt\n")
        assert started.wait(10)
        for extra in ("kelp.txt", "honey.txt", "kelp.txt\nhoney.txt"):  # a burst while it runs
            docs.write_text(f"zorblat.txt\nbakery.txt\n{extra}\n")
            threading.Event().wait(0.1)
        release.set()
        assert wait_for(lambda: watcher.rebuilds == 2)
        threading.Event().wait(DEBOUNCE * 5)  # nothing piles up afterwards
        assert len(calls) == 2 and watcher.rebuilds == 2
        assert top_source(holder, TOPICS["honey.txt"][1]) == "honey.txt"
        assert holder.current.document_count == 4
    finally:
        release.set()
        watcher.stop()


def test_failed_rebuild_keeps_the_old_index(tmp_path, embeddings):
    (tmp_path / "zorblat.txt").write_text(TOPICS["zorblat.txt"][0])
    docs = tmp_path / "docs.txt"
    docs.write_text("zorblat.txt\n")
    indexer, holder, _ = start(docs, embeddings, watch=False)
    old = holder.current
    reports = []
    indexer.listeners.append(reports.append)

    class Broken:
        dimension = 384

        def embed_documents(self, texts):
            raise RuntimeError("embedding backend crashed")

    indexer.embeddings = Broken()
    watcher = DocsWatcher(indexer, holder, debounce=DEBOUNCE).start()
    try:
        (tmp_path / "bakery.txt").write_text(TOPICS["bakery.txt"][0])
        docs.write_text("zorblat.txt\nbakery.txt\n")
        assert wait_for(lambda: watcher.failures == 1)
        assert holder.current is old
        assert reports[-1].ok is False and "embedding backend crashed" in reports[-1].error
    finally:
        watcher.stop()
