"""servable_stream/model.py driven directly, as OVMS would, with a minimal fake `pyovms`.

OVMS drops any exception that leaves `execute` (the graph fails, the client hears nothing),
so every failure here must come back in-band: an `end_signal` with "error" and
"finish_reason": "error", after at least one `completion` step."""
import importlib.util
import json
import sys
import time
import types

import pytest
from ragbot.errors import InvalidRequestError

from probes.knowledge import SERVABLE, rag_env

pytestmark = pytest.mark.model


class FakeTensor:
    """Just enough of pyovms.Tensor: a name and bytes (the real one has the buffer protocol)."""

    def __init__(self, name, data):
        self.name = name
        self._data = bytes(data)

    def __bytes__(self):
        return self._data


@pytest.fixture(scope="module")
def servable(kb_docs):
    env = rag_env(kb_docs, MAX_NEW_TOKENS="48", SEED="7")
    saved = {k: __import__("os").environ.get(k) for k in env}
    import os

    os.environ.update(env)
    sys.modules["pyovms"] = types.SimpleNamespace(Tensor=FakeTensor)
    try:
        spec = importlib.util.spec_from_file_location("ragbot_servable_model", SERVABLE / "model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.OvmsPythonModel()
        model.initialize({"base_path": str(SERVABLE), "node_name": "n", "input_names": ["pre_prompt", "loopback"],
                          "output_names": ["completion", "end_signal", "loopback"]})
        yield model
        model.finalize()
    finally:
        sys.modules.pop("pyovms", None)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(model, payload: bytes):
    return [tensors for tensors in model.execute([FakeTensor("pre_prompt", payload)])]


def end_of(steps) -> dict:
    (end,) = steps[-1]
    assert end.name == "end_signal"
    return json.loads(bytes(end).decode())


def test_streams_completion_chunks_then_end_signal_with_the_whole_answer(servable):
    steps = run(servable, b"What colour is the zorblat fruit?")
    assert all(len(step) == 1 for step in steps)
    *chunks, (end,) = steps
    assert chunks and all(t.name == "completion" and bytes(t).decode() for (t,) in chunks)
    assert end.name == "end_signal"
    info = json.loads(bytes(end).decode())
    assert info["sources"][0]["source"] == "zorblat.md"
    assert info["finish_reason"] in ("stop", "length") and info["usage"]["completion_tokens"] > 0
    assert info["answer"] == "".join(bytes(t).decode() for (t,) in chunks)
    assert "error" not in info


def test_length_prefixed_json_request(servable):
    body = json.dumps({"question": "Which river freezes?", "max_new_tokens": 3,
                       "history": [{"role": "user", "content": "hi"}]}).encode()
    *_, (end,) = run(servable, len(body).to_bytes(4, "little") + body)
    info = json.loads(bytes(end).decode())
    assert info["usage"]["completion_tokens"] <= 3
    assert info["sources"][0]["source"] == "rivers.md"


@pytest.mark.parametrize("payload, words", [
    (b'{"question": ""}', '"question" must be a non-empty string'),
    (b"   ", "pre_prompt is empty"),
    (b'{"question": "x",', "malformed"),
    (b"a" * (32 * 1024 + 1), "MAX_PROMPT_BYTES"),
])
def test_invalid_request_is_answered_in_band(servable, payload, words):
    steps = run(servable, payload)  # execute returned a generator that did not raise
    assert [t.name for (t,) in steps] == ["completion", "end_signal"]
    assert bytes(steps[0][0]) == b""  # unary on OVMS needs a first completion packet
    info = end_of(steps)
    assert info["finish_reason"] == "error" and info["answer"] == ""
    assert info["error"]["code"] == "INVALID_ARGUMENT" and words in info["error"]["message"]


def test_missing_input_is_answered_in_band(servable):
    info = end_of(list(servable.execute([FakeTensor("other", b"x")])))
    assert info["error"] == {"code": "INVALID_ARGUMENT", "message": "the request has no pre_prompt input"}


def test_closing_the_generator_cancels_generation(servable):
    gen = servable.execute([FakeTensor("pre_prompt", b"Tell me a story")])
    next(gen)
    gen.close()
    llm = servable.service.backend
    deadline = time.monotonic() + 2
    while llm._lock.locked() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not llm._lock.locked()
    *_, (end,) = run(servable, b"still answering?")
    assert end.name == "end_signal"


def test_overload_and_shutdown_are_answered_in_band(kb_docs, settings, embeddings, llm):
    """A service of its own (one slot, no queue), closed at the end like OVMS's finalize."""
    import dataclasses

    from ragbot import RagService, respond

    tight = dataclasses.replace(settings, max_concurrent_streams=1, max_queued_requests=0)
    service = RagService.start(tight, embeddings=embeddings, backend=llm)
    try:
        holding = respond(service, [FakeTensor("pre_prompt", b"Tell me about the zorblat")])
        assert next(holding)[0] == "completion"  # admitted: the only slot is taken
        steps = list(respond(service, [FakeTensor("pre_prompt", b"And me?")]))
        refused = json.loads(steps[-1][1])
        assert refused["error"]["code"] == "RESOURCE_EXHAUSTED"
        assert "server busy" in refused["error"]["message"] and refused["finish_reason"] == "error"
        holding.close()
    finally:
        service.close()
    steps = list(respond(service, [FakeTensor("pre_prompt", b"Still there?")]))
    closed = json.loads(steps[-1][1])
    assert closed["error"]["code"] == "UNAVAILABLE" and "shutting down" in closed["error"]["message"]
