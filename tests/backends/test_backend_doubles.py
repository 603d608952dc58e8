"""The backend doubles (probes/backend_doubles), loaded in-process through the registry as a host
loads them: each keeps the real backend's output wherever it fakes nothing."""
from __future__ import annotations

import json

import pytest
from ragbot.backends.loading import load_backend
from ragbot.run import GenerationStats
from ragbot.settings import Settings

from probes.backend_doubles import FAULT_MARKER, SLOW_MARKER, backend_env
from probes.knowledge import SERVABLE, rag_env
from tests.backends.conftest import F32
from tests.generation import generate

pytestmark = pytest.mark.model

STORY = "<|user|>\nTell me a story</s>\n<|assistant|>\n"


def load_double(docs, name: str):
    return load_backend(Settings.from_env(SERVABLE, rag_env(docs, MAX_NEW_TOKENS="48", SEED="7", OV_CONFIG=F32,
                                                             **backend_env(name))))


def run(llm, prompt, **options):
    stats = GenerationStats()
    return "".join(generate(llm, prompt, stats=stats, **options)), stats


@pytest.mark.parametrize("real", ["optimum", "genai"])
def test_faulty_backend_fails_or_slows_marked_prompts_and_logs_every_prompt(real, backend_docs, request,
                                                                              tmp_path, monkeypatch):
    log = tmp_path / "prompts.jsonl"
    monkeypatch.setenv("RAGBOT_TEST_PROMPT_LOG", str(log))
    llm = load_double(backend_docs, f"faulty-{real}")
    try:
        assert run(llm, STORY, max_new_tokens=24) == run(request.getfixturevalue(f"{real}_llm"), STORY,
                                                         max_new_tokens=24)
        chunks = []
        with pytest.raises(RuntimeError, match="injected fault: the model failed mid-answer"):
            for chunk in generate(llm, STORY + FAULT_MARKER, max_new_tokens=24, ignore_eos=True):
                chunks.append(chunk)
        assert len(chunks) == 1
        slow, stats = run(llm, STORY + SLOW_MARKER, max_new_tokens=8, ignore_eos=True)
        assert slow and stats.completion_tokens == 8 and stats.finish_reason == "length"
        assert run(llm, STORY, max_new_tokens=4)[0]  # the generation the fault ended was released
    finally:
        llm.close()
    logged = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert logged == [STORY, STORY + FAULT_MARKER, STORY + SLOW_MARKER, STORY]


def test_forced_output_says_what_the_test_names_through_the_real_decoding(backend_docs, optimum_llm,
                                                                          monkeypatch):
    answer = "The zorblat is a purple fruit [1]. It grows on Kelvara [1]."
    monkeypatch.setenv("RAGBOT_TEST_FORCED_OUTPUTS", json.dumps([["zorblat", answer]]))
    monkeypatch.delenv("RAGBOT_TEST_PROMPT_LOG", raising=False)
    llm = load_double(backend_docs, "forced-output")
    prompt = "<|user|>\nWhat is a zorblat?</s>\n<|assistant|>\n"
    text, stats = run(llm, prompt, max_new_tokens=48)
    assert text == answer and stats.finish_reason == "stop"
    assert stats.completion_tokens == len(llm.tokenizer(answer, add_special_tokens=False)["input_ids"]) + 1
    cut, _ = run(llm, prompt, max_new_tokens=48, stop=["It grows"])  # the product's stop strings
    assert cut == answer[:answer.index("It grows")]
    assert run(llm, STORY, max_new_tokens=24) == run(optimum_llm, STORY, max_new_tokens=24)  # no needle: the model's
