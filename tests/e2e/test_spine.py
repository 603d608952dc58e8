"""End to end: the real host serving servable_stream/ with tiny-random + all-MiniLM-L6-v2.

The clients here are written the way OVMS's own demo client is (tritonclient streaming,
`as_numpy('completion').tobytes().decode()`), so the servable stays compatible with it.
"""
from __future__ import annotations

import json
import queue
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

MODEL = "python_model"


def raw_input(text: str) -> grpcclient.InferInput:
    """How the seed's client sends a prompt: the UTF-8 bytes as raw content."""
    inp = grpcclient.InferInput("pre_prompt", [1], "BYTES")
    inp._raw_content = text.encode()
    return inp


def element_input(text: str) -> grpcclient.InferInput:
    """How tritonclient sends BYTES normally: one length-prefixed element."""
    inp = grpcclient.InferInput("pre_prompt", [1], "BYTES")
    inp.set_data_from_numpy(np.array([text.encode()], dtype=np.object_))
    return inp


def stream(url: str, inp: grpcclient.InferInput, timeout: float = 120):
    """Send one request on a new stream; return (events, t_start) with events as
    (kind, payload, arrival_time, timestamp) until end_signal or an error."""
    events: queue.Queue = queue.Queue()

    def callback(result, error):
        now = time.monotonic()
        if error is not None:
            events.put(("error", str(error), now, None))
            return
        ts = result.get_response().parameters["OVMS_MP_TIMESTAMP"].int64_param
        if result.as_numpy("end_signal") is not None:
            events.put(("end", json.loads(result.as_numpy("end_signal").tobytes().decode()), now, ts))
        else:
            events.put(("chunk", result.as_numpy("completion").tobytes().decode(), now, ts))

    client = grpcclient.InferenceServerClient(url)
    client.start_stream(callback=callback)
    t0 = time.monotonic()
    client.async_stream_infer(model_name=MODEL, inputs=[inp])
    out = []
    try:
        while True:
            ev = events.get(timeout=timeout)
            out.append(ev)
            if ev[0] in ("end", "error"):
                return out, t0
    finally:
        client.stop_stream()
        client.close()


def chunks_and_end(events):
    kinds = [e[0] for e in events]
    assert "error" not in kinds, events[-1]
    assert kinds[-1] == "end"
    return "".join(e[1] for e in events if e[0] == "chunk"), events[-1][1]


def test_seed_client_raw_prompt_streams_answer_with_sources(rag_host):
    events, t0 = stream(rag_host.grpc_url, raw_input("What colour is the zorblat fruit?"))
    text, end = chunks_and_end(events)
    assert text.strip()
    assert end["finish_reason"] in ("stop", "length")
    assert end["usage"]["prompt_tokens"] > 0
    assert end["usage"]["completion_tokens"] > 0
    sources = end["sources"]
    assert sources and sources[0]["source"] == "zorblat.md"
    assert {"source", "title", "score", "excerpt"} <= set(sources[0])
    scores = [s["score"] for s in sources]
    assert scores == sorted(scores, reverse=True)


def test_length_prefixed_bytes_prompt_is_accepted(rag_host):
    events, _ = stream(rag_host.grpc_url, element_input("When does the Quantum Bakery open?"))
    text, end = chunks_and_end(events)
    assert text.strip()
    assert end["sources"][0]["source"] == "quantum_bakery.txt"


@pytest.fixture(scope="module")
def slow_rag_host(tmp_path_factory):
    """The real servable with each decoding step slowed (tests/e2e/slow_llm): streaming and
    buffering become distinguishable by arrival times."""
    from pathlib import Path

    from tests.conftest import SERVABLE, rag_env, write_knowledge
    from tests.hostproc import start_host

    env = rag_env(write_knowledge(tmp_path_factory.mktemp("kb")),
                  PYTHONPATH=str(Path(__file__).parent / "slow_llm"))
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=240)
        yield host


def test_chunks_are_streamed_not_buffered_with_increasing_timestamps(slow_rag_host):
    prompt = json.dumps({"question": "Tell me about the Silverrun river.", "max_new_tokens": 60,
                         "ignore_eos": True})
    events, t0 = stream(slow_rag_host.grpc_url, raw_input(prompt))
    _, end = chunks_and_end(events)
    assert end["usage"]["completion_tokens"] == 60, end["usage"]
    chunk_times = [e[2] for e in events if e[0] == "chunk"]
    assert len(chunk_times) >= 10, "expected many streamed chunks"
    first, last = chunk_times[0] - t0, events[-1][2] - t0
    assert first < last / 2, f"first chunk at {first:.3f}s, end at {last:.3f}s: looks buffered"
    stamps = [e[3] for e in events]
    assert all(b > a for a, b in zip(stamps, stamps[1:])), stamps


def test_json_prompt_with_history_and_token_limit(rag_host):
    prompt = json.dumps({
        "question": "And where is it grown?",
        "history": [
            {"role": "user", "content": "What is a zorblat?"},
            {"role": "assistant", "content": "A purple fruit."},
        ],
        "max_new_tokens": 5,
        "temperature": 0,
    })
    events, _ = stream(rag_host.grpc_url, raw_input(prompt))
    _, end = chunks_and_end(events)
    assert end["usage"]["completion_tokens"] <= 5
    assert end["finish_reason"] in ("length", "stop")


def test_unary_infer_returns_the_whole_answer_in_end_signal(rag_host):
    """Unary on a generator graph returns the first completion packet and end_signal (as on
    OVMS); end_signal's "answer" is the whole text, the same a stream gets (greedy decoding)."""
    question = json.dumps({"question": "What colour is the zorblat fruit?", "max_new_tokens": 24})
    client = grpcclient.InferenceServerClient(rag_host.grpc_url)
    result = client.infer(MODEL, inputs=[raw_input(question)])
    first = result.as_numpy("completion").tobytes().decode()
    end = json.loads(result.as_numpy("end_signal").tobytes().decode())
    streamed, stream_end = chunks_and_end(stream(rag_host.grpc_url, raw_input(question))[0])
    assert end["answer"] == streamed == stream_end["answer"] and streamed.strip()
    assert first and streamed.startswith(first) and len(first) < len(streamed)
    assert end["sources"][0]["source"] == "zorblat.md"
    assert end["usage"]["completion_tokens"] > 0 and "error" not in end


def test_bad_request_is_a_clear_in_band_error_and_server_keeps_serving(rag_host):
    events, t0 = stream(rag_host.grpc_url, raw_input('{"question": 42}'))
    kinds = [e[0] for e in events]
    assert kinds == ["chunk", "end"] and events[0][1] == ""  # an empty completion, then the report
    end = events[-1][1]
    assert end["finish_reason"] == "error" and end["answer"] == ""
    assert end["error"] == {"code": "INVALID_ARGUMENT", "message": '"question" must be a non-empty string'}
    assert events[-1][2] - t0 < 2
    events, _ = stream(rag_host.grpc_url, raw_input("What is a zorblat?"))
    chunks_and_end(events)


def test_grpc_health_and_metadata(rag_host):
    client = grpcclient.InferenceServerClient(rag_host.grpc_url)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready(MODEL)
    meta = client.get_model_metadata(MODEL)
    assert meta.name == MODEL
    assert [(i.name, i.datatype) for i in meta.inputs] == [("pre_prompt", "INVALID")]
    assert [(o.name, o.datatype) for o in meta.outputs] == [("completion", "INVALID"),
                                                           ("end_signal", "INVALID")]
    with pytest.raises(InferenceServerException):
        client.get_model_metadata("no_such_model")
    with pytest.raises(InferenceServerException, match="NOT_FOUND"):
        client.is_model_ready("no_such_model")


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_rest_health_codes(rag_host):
    base = rag_host.rest_url
    assert http_status(f"{base}/v2/health/live") == 200
    assert http_status(f"{base}/v2/health/ready") == 200
    assert http_status(f"{base}/v2/models/{MODEL}/ready") == 200
    assert http_status(f"{base}/v2/models/no_such_model/ready") == 404
    with urllib.request.urlopen(f"{base}/v2/models/{MODEL}", timeout=10) as r:
        assert json.load(r)["name"] == MODEL
    with urllib.request.urlopen(f"{base}/v1/config", timeout=10) as r:
        assert MODEL in json.load(r)


def test_failing_initialize_leaves_host_live_but_model_not_ready(tmp_path):
    from tests.conftest import SERVABLE, rag_env, write_knowledge
    from tests.hostproc import start_host

    env = rag_env(write_knowledge(tmp_path), LLM_MODEL_DIR=str(tmp_path / "no-model-here"))
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_live(timeout=60)
        deadline = time.monotonic() + 120
        while "download_model.py" not in host.log_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "download_model.py" in host.log_text()
        assert http_status(f"{host.rest_url}/v2/health/live") == 200
        assert http_status(f"{host.rest_url}/v2/models/{MODEL}/ready") == 404
        client = grpcclient.InferenceServerClient(host.grpc_url)
        assert client.is_server_live()
        assert not client.is_model_ready(MODEL)
