"""Cancelling, and abandoning a stream, on every backend: the generation stops within a
token step or two and the backend is free again (optimum: its one-stream lock released;
genai: nothing left running in the continuous-batching engine)."""
from __future__ import annotations

import time

import pytest

from tests.generation import cancel_after_first_chunk, generate

pytestmark = pytest.mark.model

LONG_PROMPT = "<|user|>\nTell me a story</s>\n<|assistant|>\n"


def _busy(llm) -> bool:
    engine = getattr(llm, "engine", None)
    return engine.active_count > 0 if engine is not None else llm._lock.locked()


def _wait_idle(llm, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while _busy(llm) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _busy(llm)


@pytest.fixture(params=["optimum_llm", "genai_llm"])
def backend(request):
    return request.getfixturevalue(request.param)


def test_cancel_stops_within_a_few_token_steps(backend):
    seconds, stats = cancel_after_first_chunk(backend, LONG_PROMPT)
    assert seconds < 1.0
    assert stats.finish_reason == "cancelled" and stats.completion_tokens < 1500
    if getattr(backend, "engine", None) is None:
        assert not backend._lock.locked()  # optimum: released as the stream ended
    else:
        assert _wait_idle(backend)  # genai: the engine drops the request at its next step


def test_abandoned_stream_frees_the_backend(backend):
    stream = generate(backend, LONG_PROMPT, max_new_tokens=1500, ignore_eos=True)
    next(stream)
    stream.close()
    assert _wait_idle(backend)
