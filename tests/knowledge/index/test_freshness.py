"""Knowledge that stays fresh and never silently shrinks (real HTTP server on 127.0.0.1, real
all-MiniLM-L6-v2): a transient failure keeps the last good copy (stale) until the page answers
again; 404/410 drop it; conditional fetches make a 304 cost nothing; the schedule picks up
upstream changes without docs.txt being touched; the status JSON says each state."""
from __future__ import annotations

import logging
import re
import time

from ragbot.errors import FetchTimeoutError, HttpStatusError, UnreachableError
from ragbot.knowledge.fetching import FetchPolicy
from ragbot.knowledge.index import IndexHolder
from ragbot.knowledge.schedule import STALE_RETRY_SECONDS, RefreshSchedule
from ragbot.knowledge.status import knowledge_status
from ragbot.knowledge.watcher import DocsWatcher

from tests.knowledge.index.conftest import wait_for
from tests.indexing import make_indexer

POLICY = FetchPolicy(allow_private=True, timeout=0.5)
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
KELP = b"Divers in Orvane Bay harvest green sea kelp in late spring."
KELP_NEW = b"Divers in Orvane Bay now harvest red sea kelp in early winter."
HONEY = b"Hives in Hollow Vale give heather honey in August."


def sources(index) -> list[str]:
    return [r.entry for r in index.records]


def kb(tmp_path, doc_server, **urls):
    """docs.txt listing a local file and the given {name: body} pages of `doc_server`."""
    (tmp_path / "bakery.txt").write_text("The Quantum Bakery in Millbrook opens at seven.")
    for name, body in urls.items():
        doc_server.files[f"/{name}"] = (body, "text/plain")
    docs = tmp_path / "docs.txt"
    docs.write_text("bakery.txt\n" + "".join(doc_server.url(f"/{n}") + "\n" for n in urls))
    return docs


def test_failure_kinds_are_classified():
    assert HttpStatusError("x", 503).transient and HttpStatusError("x", 429).transient
    assert HttpStatusError("x", 404).gone and HttpStatusError("x", 410).gone
    assert not HttpStatusError("x", 404).transient and not HttpStatusError("x", 403).transient
    assert not HttpStatusError("x", 403).gone
    assert FetchTimeoutError("x").transient and UnreachableError("x").transient


def test_a_page_down_keeps_its_chunks_stale_then_refreshes_when_it_answers(tmp_path, doc_server,
                                                                           counting, caplog):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP, "honey.txt": HONEY})
    kelp, honey = doc_server.url("/kelp.txt"), doc_server.url("/honey.txt")
    ix = make_indexer(docs, counting, policy=POLICY)
    first = ix.rebuild()
    assert first.report.stale == [] and len(sources(first)) == 3

    doc_server.status["/kelp.txt"] = 503  # down during a rebuild
    doc_server.delay["/honey.txt"] = 2.0  # times out (policy: 0.5 s)
    counting.embedded = 0
    with caplog.at_level(logging.WARNING, logger="ragbot.knowledge.ingest"):
        down = ix.rebuild()
    report = down.report
    assert sources(down) == sources(first) and down.chunk_count == first.chunk_count
    assert counting.embedded == 0 and report.removed == [] and report.skipped == []
    stale = dict(report.stale)
    assert re.fullmatch(rf"kept the copy from {ISO}: .*HTTP 503", stale[kelp]), stale[kelp]
    assert re.fullmatch(rf"kept the copy from {ISO}: timed out .*", stale[honey]), stale[honey]
    assert f"document {kelp}: kept the copy from " in caplog.text
    assert "stale 2" in report.summary() and "kept the copy from" in report.summary()
    assert down.search("When is kelp harvested?", k=1)[0].doc.metadata["source"] == kelp
    assert down.faiss_index is first.faiss_index  # same chunks: FAISS and BM25 are not rebuilt

    del doc_server.status["/kelp.txt"], doc_server.delay["/honey.txt"]
    doc_server.files["/kelp.txt"] = (KELP_NEW, "text/plain")  # changed while it was down
    back = ix.rebuild()
    assert back.report.stale == [] and back.report.changed == [kelp]
    assert back.report.not_modified == [honey] and counting.embedded == 1
    assert "red sea kelp" in back.search("When is kelp harvested?", k=1)[0].doc.page_content
    assert back.faiss_index is not first.faiss_index and back.faiss_index.ntotal == back.chunk_count
    fetched = {r.entry: r.fetched_at for r in back.records}
    assert fetched[kelp] > {r.entry: r.fetched_at for r in first.records}[kelp]


def test_gone_pages_are_dropped_and_other_refusals_too(tmp_path, doc_server, embeddings):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP, "honey.txt": HONEY, "gone.txt": b"Gone soon."})
    ix = make_indexer(docs, embeddings, policy=POLICY)
    assert len(ix.rebuild().records) == 4
    doc_server.status.update({"/kelp.txt": 404, "/gone.txt": 410, "/honey.txt": 403})
    index = ix.rebuild()
    assert sources(index) == ["bakery.txt"] and index.report.stale == []
    assert sorted(index.report.removed) == sorted(doc_server.url(p) for p in ("/kelp.txt", "/gone.txt", "/honey.txt"))
    reasons = dict(index.report.skipped)
    for path, status in (("/kelp.txt", 404), ("/gone.txt", 410), ("/honey.txt", 403)):
        assert f"HTTP {status}" in reasons[doc_server.url(path)]
        assert "its indexed copy is dropped" in reasons[doc_server.url(path)]
    assert index.search("When is kelp harvested?", k=3)[0].doc.metadata["source"] == "bakery.txt"


def test_not_modified_costs_no_download_and_no_embedding_even_after_a_restart(tmp_path, doc_server, counting):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP, "honey.txt": HONEY})
    store = tmp_path / "idx"
    first = make_indexer(docs, counting, policy=POLICY, index_dir=store).rebuild()
    assert doc_server.conditional == [] and sorted(doc_server.bodies) == ["/honey.txt", "/kelp.txt"]
    counting.embedded = 0
    doc_server.bodies.clear()
    again = make_indexer(docs, counting, policy=POLICY, index_dir=store).rebuild()  # a new process
    assert sorted(doc_server.not_modified) == ["/honey.txt", "/kelp.txt"]  # validators persisted
    assert doc_server.bodies == [] and counting.embedded == 0 and again.report.embedded_chunks == 0
    assert sorted(again.report.not_modified) == sorted(sources(first)[1:])
    assert "(2 not modified)" in again.report.summary()
    assert again.chunk_count == first.chunk_count


def test_a_stale_copy_survives_a_restart_with_its_fetch_time(tmp_path, doc_server, embeddings):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP})
    store = tmp_path / "idx"
    first = make_indexer(docs, embeddings, policy=POLICY, index_dir=store).rebuild()
    fetched_at = first.records[1].fetched_at
    doc_server.status["/kelp.txt"] = 502
    index = make_indexer(docs, embeddings, policy=POLICY, index_dir=store).rebuild()
    assert sources(index) == sources(first)
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fetched_at))
    assert dict(index.report.stale)[doc_server.url("/kelp.txt")].startswith(f"kept the copy from {when}: ")
    assert index.records[1].fetched_at == fetched_at


def test_the_status_says_each_state_in_docs_order(tmp_path, doc_server, embeddings):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP, "honey.txt": HONEY})
    docs.write_text(docs.read_text() + "missing.md\n")
    ix = make_indexer(docs, embeddings, policy=POLICY)
    ix.rebuild()
    doc_server.status["/honey.txt"] = 503
    index = ix.rebuild()
    status = knowledge_status(index, ix.last_report, None, refresh_seconds=60, next_refresh_in=12.3)
    docs_ = status["documents"]
    assert [d["source"] for d in docs_] == ["bakery.txt", doc_server.url("/kelp.txt"),
                                            doc_server.url("/honey.txt"), "missing.md"]
    assert [d["state"] for d in docs_] == ["ok", "ok", "stale", "skipped"]
    assert docs_[2]["reason"].startswith("kept the copy from") and "HTTP 503" in docs_[2]["reason"]
    assert "file not found" in docs_[3]["reason"] and docs_[3]["chunks"] == 0
    assert docs_[0]["title"] and docs_[0]["chunks"] == 1 and re.fullmatch(ISO, docs_[0]["last_fetched"])
    assert status["totals"] == {"documents": 3, "chunks": 3, "ok": 2, "stale": 1, "skipped": 1}
    last = status["last_rebuild"]
    assert last["ok"] and re.fullmatch(ISO, last["finished"]) and last["embedded_chunks"] == 0
    assert last["stale"][0]["source"] == doc_server.url("/honey.txt") and last["not_modified"] == 1
    assert status["rebuilding"] is None and status["next_refresh_in"] == 12.3


def test_a_long_list_logs_how_far_the_rebuild_is(tmp_path, embeddings, caplog):
    names = [f"d{i}.txt" for i in range(24)]
    for i, name in enumerate(names):
        (tmp_path / name).write_text(f"Document number {i} is about the river number {i}.")
    (tmp_path / "docs.txt").write_text("\n".join(names) + "\n")
    with caplog.at_level(logging.INFO, logger="ragbot.knowledge.ingest"):
        make_indexer(tmp_path / "docs.txt", embeddings).rebuild()
    lines = re.findall(r"rebuilding the index: (\d+) of 24 documents checked", caplog.text)
    assert lines == ["6", "12", "18"], caplog.text


def test_refresh_schedule_jitters_retries_stale_sooner_and_can_be_off():
    schedule = RefreshSchedule(1000)
    delays = [schedule.next_delay() for _ in range(200)]
    assert all(900 <= d <= 1100 for d in delays) and len(set(delays)) > 100
    assert RefreshSchedule(7200).next_delay(stale=True) <= STALE_RETRY_SECONDS * 1.1
    assert RefreshSchedule(0).next_delay() is None and not RefreshSchedule(0).enabled


def test_the_schedule_picks_up_upstream_changes_and_outages_without_touching_docs(tmp_path, doc_server,
                                                                                 counting):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP, "honey.txt": HONEY})
    kelp = doc_server.url("/kelp.txt")
    ix = make_indexer(docs, counting, policy=POLICY)
    holder = IndexHolder(ix.rebuild())
    before = docs.stat().st_mtime_ns
    watcher = DocsWatcher(ix, holder, debounce=0.2, refresh=RefreshSchedule(0.4)).start()
    try:
        counting.embedded = 0
        doc_server.files["/kelp.txt"] = (KELP_NEW, "text/plain")
        assert wait_for(lambda: "red sea kelp" in holder.current.search("kelp", k=1)[0].doc.page_content)
        assert holder.current.report.changed == [kelp] and counting.embedded == 1
        assert wait_for(lambda: watcher.refreshes >= 3)  # further refreshes: 304s, nothing embedded
        assert counting.embedded == 1 and holder.current.report.not_modified == [kelp, doc_server.url("/honey.txt")]

        doc_server.status["/kelp.txt"] = 503
        assert wait_for(lambda: [e for e, _ in holder.current.report.stale] == [kelp])
        assert kelp in sources(holder.current)
        del doc_server.status["/kelp.txt"]
        assert wait_for(lambda: holder.current.report.stale == [])
        assert holder.current.report.not_modified == [kelp, doc_server.url("/honey.txt")]
        assert counting.embedded == 1
    finally:
        watcher.stop()
    assert docs.stat().st_mtime_ns == before and watcher.failures == 0


def test_refresh_off_fetches_nothing_by_itself(tmp_path, doc_server, embeddings):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP})
    ix = make_indexer(docs, embeddings, policy=POLICY)
    holder = IndexHolder(ix.rebuild())
    watcher = DocsWatcher(ix, holder, debounce=0.1, refresh=RefreshSchedule(0)).start()
    try:
        time.sleep(0.6)
        assert doc_server.requests == ["/kelp.txt"] and watcher.next_refresh_in is None
    finally:
        watcher.stop()


def test_stop_is_prompt_while_a_refresh_is_scheduled(tmp_path, doc_server, embeddings):
    docs = kb(tmp_path, doc_server, **{"kelp.txt": KELP})
    ix = make_indexer(docs, embeddings, policy=POLICY)
    watcher = DocsWatcher(ix, IndexHolder(ix.rebuild()), debounce=0.1,
                          refresh=RefreshSchedule(30)).start()
    started = time.monotonic()
    watcher.stop()
    assert time.monotonic() - started < 2 and not watcher.running
