"""End to end: the real host serving servable_stream/ with tiny-random + all-MiniLM-L6-v2.

The clients here are written the way OVMS's own demo client is (tritonclient streaming,
`as_numpy('completion').tobytes().decode()`), so the servable stays compatible with it.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from probes.kserve import ask, prompt_input

pytestmark = pytest.mark.host

MODEL = "python_model"


def raw_input(text: str):
    """How the seed's client sends a prompt: the UTF-8 bytes as raw content."""
    return prompt_input(text, raw=True)


def element_input(text: str):
    """How tritonclient sends BYTES normally: one length-prefixed element."""
    return prompt_input(text)


def chunks_and_end(answer):
    assert answer.last.kind == "end", answer.last
    return answer.text, answer.end


def test_seed_client_raw_prompt_streams_answer_with_sources(rag_host):
    text, end = chunks_and_end(ask(rag_host.grpc_url, raw_input("What colour is the zorblat fruit?")))
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
    text, end = chunks_and_end(ask(rag_host.grpc_url, element_input("When does the Quantum Bakery open?")))
    assert text.strip()
    assert end["sources"][0]["source"] == "quantum_bakery.txt"


@pytest.fixture(scope="module")
def slow_rag_host(tmp_path_factory):
    """The real servable with each decoding step slowed (the slow-steps backend double,
    probes/backend_doubles): streaming and buffering become distinguishable by arrival times."""
    from probes.backend_doubles import backend_env
    from probes.host import start_host
    from probes.knowledge import SERVABLE, rag_env, write_knowledge

    env = rag_env(write_knowledge(tmp_path_factory.mktemp("kb")), **backend_env("slow-steps"))
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=240)
        yield host


def test_chunks_are_streamed_not_buffered_with_increasing_timestamps(slow_rag_host):
    prompt = json.dumps({"question": "Tell me about the Silverrun river.", "max_new_tokens": 60,
                         "ignore_eos": True})
    answer = ask(slow_rag_host.grpc_url, raw_input(prompt))
    _, end = chunks_and_end(answer)
    assert end["usage"]["completion_tokens"] == 60, end["usage"]
    chunk_times = answer.arrivals
    assert len(chunk_times) >= 10, "expected many streamed chunks"
    first, last = chunk_times[0] - answer.started, answer.last.at - answer.started
    assert first < last / 2, f"first chunk at {first:.3f}s, end at {last:.3f}s: looks buffered"
    stamps = answer.timestamps
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
    _, end = chunks_and_end(ask(rag_host.grpc_url, raw_input(prompt)))
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
    streamed, stream_end = chunks_and_end(ask(rag_host.grpc_url, raw_input(question)))
    assert end["answer"] == streamed == stream_end["answer"] and streamed.strip()
    assert first and streamed.startswith(first) and len(first) < len(streamed)
    assert end["sources"][0]["source"] == "zorblat.md"
    assert end["usage"]["completion_tokens"] > 0 and "error" not in end


def test_bad_request_is_a_clear_in_band_error_and_server_keeps_serving(rag_host):
    answer = ask(rag_host.grpc_url, raw_input('{"question": 42}'))
    kinds = [e.kind for e in answer.events]
    assert kinds == ["chunk", "fail"] and answer.text == ""  # an empty completion, then the report
    end = answer.end
    assert end["finish_reason"] == "error" and end["answer"] == ""
    assert end["error"] == {"code": "INVALID_ARGUMENT", "message": '"question" must be a non-empty string'}
    assert answer.last.at - answer.started < 2
    chunks_and_end(ask(rag_host.grpc_url, raw_input("What is a zorblat?")))


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
    from probes.host import start_host
    from probes.knowledge import SERVABLE, rag_env, write_knowledge

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
