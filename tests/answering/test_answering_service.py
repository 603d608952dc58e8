import threading
import time

from ragbot.answering.request import ChatRequest
from ragbot.knowledge.index import IndexHolder
from ragbot.knowledge.watcher import DocsWatcher

from tests.indexing import make_indexer


def test_answer_streams_text_then_end_info(service):
    answer = service.answer(ChatRequest("What colour is the zorblat fruit?", max_new_tokens=8))
    chunks = list(answer)
    assert chunks and all(isinstance(c, str) for c in chunks)
    info = answer.end.to_wire()
    assert info["finish_reason"] in ("stop", "length")
    assert 0 < info["usage"]["completion_tokens"] <= 8 and info["usage"]["prompt_tokens"] > 50
    first = info["sources"][0]
    assert (first["source"], first["title"]) == ("zorblat.md", "Zorblat fruit")
    assert "purple fruit" in first["excerpt"] and len(first["excerpt"]) <= 201
    assert [s["score"] for s in info["sources"]] == sorted((s["score"] for s in info["sources"]), reverse=True)


def test_request_max_new_tokens_overrides_the_default(service):
    assert service.settings.max_new_tokens == 48
    answer = service.answer(ChatRequest("Tell me about the rivers of Norland.", max_new_tokens=55,
                                        ignore_eos=True))  # forced: no early end of sequence
    list(answer)
    assert answer.end.to_wire()["usage"]["completion_tokens"] == 55
    assert answer.end.to_wire()["finish_reason"] == "length"


def test_cancel_answer(service):
    answer = service.answer(ChatRequest("Tell me about the zorblat fruit", max_new_tokens=48, ignore_eos=True))
    next(answer)
    answer.cancel()
    list(answer)
    assert answer.end.to_wire()["finish_reason"] == "cancelled"


def test_two_concurrent_answers_both_complete(service):
    results, errors = {}, []

    def ask(name, question):
        try:
            answer = service.answer(ChatRequest(question, max_new_tokens=30))
            text = "".join(answer)
            results[name] = (text, answer.end.to_wire())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(n, q)) for n, q in
               [("a", "Which river freezes?"), ("b", "When does the bakery open?")]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert set(results) == {"a", "b"}
    assert results["a"][1]["sources"][0]["source"] == "rivers.md"
    assert results["b"][1]["sources"][0]["source"] == "quantum_bakery.txt"
    for _, info in results.values():
        assert info["finish_reason"] in ("stop", "length")


def test_watcher_rebuilds_on_docs_change_and_keeps_old_index_on_failure(tmp_path, embeddings):
    (tmp_path / "one.txt").write_text("The zorblat is a purple fruit.")
    (tmp_path / "two.txt").write_text("The Silverrun river freezes in winter.")
    docs = tmp_path / "docs.txt"
    docs.write_text("one.txt\n")
    indexer = make_indexer(docs, embeddings)
    holder = IndexHolder(indexer.rebuild())
    real_rebuild, failing = indexer.rebuild, {"on": False}

    def rebuild():
        if failing["on"]:
            raise RuntimeError("simulated rebuild failure")
        return real_rebuild()

    indexer.rebuild = rebuild
    watcher = DocsWatcher(indexer, holder, debounce=0.75).start()
    try:
        docs.write_text("one.txt\ntwo.txt\n")
        assert _wait_for(lambda: holder.current.document_count == 2)
        failing["on"] = True
        docs.write_text("one.txt\n")
        assert _wait_for(lambda: watcher.failures == 1)
        assert holder.current.document_count == 2  # the failed rebuild left the index alone
    finally:
        watcher.stop()
    assert watcher.rebuilds == 1 and not watcher.running


def _wait_for(condition, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False
