"""LLM_BACKEND=genai through the real host (python -m ovms_host): two concurrent gRPC streams."""
from __future__ import annotations

import threading

import pytest

import probes
from probes.knowledge import SERVABLE, rag_env, write_knowledge

MODEL = "python_model"


@pytest.fixture(scope="module")
def genai_host(tmp_path_factory):
    from probes.host import start_host

    docs = write_knowledge(tmp_path_factory.mktemp("genai-kb"))
    host = start_host(SERVABLE / "config.json", env=rag_env(docs, LLM_BACKEND="genai"))
    try:
        host.wait_ready(model=MODEL, timeout=240)
        yield host
    finally:
        host.stop()


def ask(url: str, payload: dict, timeout: float = 120) -> tuple[list[str], dict]:
    answer = probes.ask(url, payload, timeout)
    assert answer.last.kind == "end", answer.last
    return answer.chunks, answer.end


def test_genai_backend_streams_answers_through_the_host(genai_host):
    first = {"question": "What colour is the zorblat fruit?", "max_new_tokens": 40, "ignore_eos": True}
    follow = {
        "question": "And where is it grown?",
        "history": [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": "Purple."}],
        "max_new_tokens": 30,
        "ignore_eos": True,
    }
    results = {}
    threads = [threading.Thread(target=lambda k=k, p=p: results.__setitem__(k, ask(genai_host.grpc_url, p)))
               for k, p in (("first", first), ("follow", follow))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    for key, limit in (("first", 40), ("follow", 30)):
        chunks, end = results[key]
        assert len(chunks) > 1 and "".join(chunks).strip()
        assert end["finish_reason"] == "length"
        assert end["usage"]["completion_tokens"] == limit and end["usage"]["prompt_tokens"] > 0
        assert end["sources"]
    assert "genai continuous batching" in genai_host.log_text()
