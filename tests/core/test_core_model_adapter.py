"""servable_stream/model.py driven directly, as OVMS would, with a minimal fake `pyovms`."""
import importlib.util
import json
import sys
import time
import types

import pytest
from ragbot.errors import InvalidRequestError

from tests.conftest import SERVABLE, rag_env


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


def test_streams_completion_chunks_then_end_signal(servable):
    steps = run(servable, b"What colour is the zorblat fruit?")
    assert all(len(step) == 1 for step in steps)
    *chunks, (end,) = steps
    assert chunks and all(t.name == "completion" and bytes(t).decode() for (t,) in chunks)
    assert end.name == "end_signal"
    info = json.loads(bytes(end).decode())
    assert info["sources"][0]["source"] == "zorblat.md"
    assert info["finish_reason"] in ("stop", "length") and info["usage"]["completion_tokens"] > 0


def test_length_prefixed_json_request(servable):
    body = json.dumps({"question": "Which river freezes?", "max_new_tokens": 3,
                       "history": [{"role": "user", "content": "hi"}]}).encode()
    *_, (end,) = run(servable, len(body).to_bytes(4, "little") + body)
    info = json.loads(bytes(end).decode())
    assert info["usage"]["completion_tokens"] <= 3
    assert info["sources"][0]["source"] == "rivers.md"


def test_invalid_request_raises_typed_error(servable):
    with pytest.raises(InvalidRequestError) as info:
        run(servable, b'{"question": ""}')
    assert info.value.grpc_status == "INVALID_ARGUMENT"


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
