"""End to end through the real host: start with an empty knowledge base, add a document by
rewriting docs.txt while questions stream continuously; answers keep coming, and after the
swap the new document is the first source."""
from __future__ import annotations

import json
import os
import threading

import pytest

from probes.knowledge import SERVABLE, rag_env
from probes.kserve import ask
from tests.e2e.test_spine import chunks_and_end, raw_input
from tests.knowledge.index.conftest import wait_for

QUESTION = json.dumps({"question": "What colour is the zorblat fruit?", "max_new_tokens": 8})


@pytest.fixture(scope="module")
def empty_kb_host(tmp_path_factory):
    from probes.host import start_host

    folder = tmp_path_factory.mktemp("empty-kb")
    docs = folder / "docs.txt"
    docs.write_text("# nothing yet\n")
    env = rag_env(docs, DOCS_DEBOUNCE_SECONDS="0.3", INDEX_DIR=str(folder / "index"))
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=240)
        yield host, folder


def test_docs_edit_while_streaming_swaps_in_the_new_document(empty_kb_host):
    host, folder = empty_kb_host
    _, end = chunks_and_end(ask(host.grpc_url, raw_input(QUESTION)))
    assert end["sources"] == [] and end["note"] == "no documents indexed"
    assert end["knowledge_base"] == {"documents": 0, "chunks": 0}

    ends, errors, stop = [], [], threading.Event()

    def ask_continuously():
        while not stop.is_set():
            try:
                ends.append(chunks_and_end(ask(host.grpc_url, raw_input(QUESTION), timeout=60))[1])
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(repr(exc))

    asker = threading.Thread(target=ask_continuously, daemon=True)
    asker.start()
    try:
        (folder / "zorblat.md").write_text("# Zorblat fruit\n\nThe zorblat is a purple fruit grown "
                                           "on the island of Kelvara.\n")
        (folder / "bakery.txt").write_text("The Quantum Bakery in Millbrook opens at seven.\n")
        tmp = folder / "docs.txt.new"
        tmp.write_text("bakery.txt\nzorblat.md\n")
        os.replace(tmp, folder / "docs.txt")
        assert wait_for(lambda: ends and ends[-1]["sources"]
                        and ends[-1]["sources"][0]["source"] == "zorblat.md", timeout=60), host.log_text()[-3000:]
    finally:
        stop.set()
        asker.join(60)
    assert errors == [] and len(ends) >= 2
    last = ends[-1]
    assert last["knowledge_base"] == {"documents": 2, "chunks": 2} and "note" not in last
    assert {"source", "title", "score", "excerpt"} <= set(last["sources"][0])
    assert last["sources"][0]["title"] == "Zorblat fruit"
    assert "index rebuilt: 2 documents (added 2" in host.log_text()
