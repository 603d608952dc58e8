"""LLM_BACKEND=genai through the real host (python -m ovms_host): two concurrent gRPC streams."""
from __future__ import annotations

import json
import queue
import threading

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from tests.conftest import SERVABLE, rag_env, write_knowledge

MODEL = "python_model"


@pytest.fixture(scope="module")
def genai_host(tmp_path_factory):
    from tests.hostproc import start_host

    docs = write_knowledge(tmp_path_factory.mktemp("genai-kb"))
    host = start_host(SERVABLE / "config.json", env=rag_env(docs, LLM_BACKEND="genai"))
    try:
        host.wait_ready(model=MODEL, timeout=240)
        yield host
    finally:
        host.stop()


def ask(url: str, payload: dict, timeout: float = 120) -> tuple[list[str], dict]:
    events: queue.Queue = queue.Queue()

    def callback(result, error):
        if error is not None:
            events.put(("error", str(error)))
        elif result.as_numpy("end_signal") is not None:
            events.put(("end", json.loads(result.as_numpy("end_signal").tobytes().decode())))
        else:
            events.put(("chunk", result.as_numpy("completion").tobytes().decode()))

    inp = grpcclient.InferInput("pre_prompt", [1], "BYTES")
    inp.set_data_from_numpy(np.array([json.dumps(payload).encode()], dtype=np.object_))
    client = grpcclient.InferenceServerClient(url)
    client.start_stream(callback=callback)
    client.async_stream_infer(model_name=MODEL, inputs=[inp])
    chunks = []
    try:
        while True:
            kind, value = events.get(timeout=timeout)
            assert kind != "error", value
            if kind == "end":
                return chunks, value
            chunks.append(value)
    finally:
        client.stop_stream()
        client.close()


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
