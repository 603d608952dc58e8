"""Prompt lookup and a draft model on the genai backend (backends/drafting.py), on the real
SmolLM2-135M-Instruct, greedy: the answers are the plain answers, while one step of the model
yields several tokens. SmolLM2 drafts for itself here (the cheapest real draft the tests have;
the 0.5B drafting for the 1.5B is `make bench`'s).

Arithmetic: f32 activations and an f16 KV cache. The model checks k drafted tokens in one
pass, whose rounding differs from k one-token passes; with bf16 activations or the u8 KV
cache (its keys are quantised per block, so how the block was written matters) a near-tie
can go the other way (measured: SmolLM2's end-of-answer token). That is rounding, not the
mode; `make eval` holds the answers' marks with the mode on and off (docs/backends.md).
"""
from __future__ import annotations

import logging

import pytest

from probes.knowledge import KNOWLEDGE, SERVABLE, rag_env
from tests.generation import generate

EXACT = '{"INFERENCE_PRECISION_HINT": "f32", "KV_CACHE_PRECISION": "f16"}'
QUESTIONS = ("Quote the sentence about the Silverrun river word for word.",
             "What colour is the zorblat fruit?")


def _settings(tmp_path, **extra):
    from ragbot.settings import Settings

    from probes.models import SMOLLM2, smollm2_dir

    return Settings.from_env(SERVABLE, rag_env(tmp_path / "docs.txt", SELECTED_MODEL=SMOLLM2,
                                               LLM_MODEL_DIR=str(smollm2_dir()), LLM_BACKEND="genai",
                                               KV_CACHE_MB="48", OV_CONFIG=EXACT, **extra))


def _prompt(tokenizer, question: str) -> str:
    passages = "\n\n".join(KNOWLEDGE.values())
    return tokenizer.apply_chat_template(
        [{"role": "system", "content": "Answer from the passages."},
         {"role": "user", "content": f"Passages:\n{passages}\n\nQuestion: {question}"}],
        tokenize=False, add_generation_prompt=True)


@pytest.fixture(scope="module")
def backends(tmp_path_factory):
    """{mode: (backend, its load log lines)}, each mode on its own engine."""
    from ragbot.backends.genai import load_genai

    from probes.models import smollm2_dir

    tmp = tmp_path_factory.mktemp("drafting")
    modes = {"plain": {}, "prompt_lookup": {"PROMPT_LOOKUP": "on"},
             "draft_model": {"DRAFT_MODEL_DIR": str(smollm2_dir())}}
    out = {}
    logger = logging.getLogger("ragbot.backends.genai")
    try:
        for mode, extra in modes.items():
            records: list[str] = []
            handler = logging.Handler(logging.INFO)
            handler.emit = lambda r, records=records: records.append(r.getMessage())
            level = logger.level
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            try:
                out[mode] = (load_genai(_settings(tmp, **extra)), records)
            finally:
                logger.removeHandler(handler)
                logger.setLevel(level)
        yield out
    finally:
        for backend, _ in out.values():
            backend.close()


@pytest.fixture(scope="module")
def answers(backends):
    """{mode: [(text, stats), ...]} for QUESTIONS, and the load logs."""
    from ragbot.run import GenerationStats

    out = {}
    for mode, (backend, _) in backends.items():
        out[mode] = []
        for q in QUESTIONS:
            stats = GenerationStats()
            text = "".join(generate(backend, _prompt(backend.tokenizer, q), max_new_tokens=48, stats=stats))
            out[mode].append((text, stats))
    return out, {mode: records for mode, (_, records) in backends.items()}


def test_prompt_lookup_and_a_draft_model_give_the_plain_greedy_answers(answers):
    out, _ = answers
    plain = [text for text, _ in out["plain"]]
    assert "840 kilometres" in plain[0] and "purple" in plain[1].lower(), plain  # a real answer
    for mode in ("prompt_lookup", "draft_model"):
        assert [text for text, _ in out[mode]] == plain, mode
        assert [s.completion_tokens for _, s in out[mode]] == [s.completion_tokens for _, s in out["plain"]]


def test_one_step_yields_several_tokens_when_drafting(answers):
    out, _ = answers
    for _, stats in out["plain"]:
        assert stats.model_steps == stats.completion_tokens  # one token per step
    quoting = {mode: out[mode][0][1] for mode in ("prompt_lookup", "draft_model")}
    for mode, stats in quoting.items():
        assert stats.model_steps < stats.completion_tokens / 1.5, (mode, stats)


def test_the_load_log_names_the_decoding_mode(answers):
    _, logs = answers
    assert any("decoding: plain" in line for line in logs["plain"])
    assert any("decoding: prompt lookup (5 tokens per step" in line for line in logs["prompt_lookup"])
    assert any("decoding: draft model" in line for line in logs["draft_model"])


def test_a_missing_draft_folder_names_the_script_that_makes_it(tmp_path):
    from ragbot.backends.genai import load_genai
    from ragbot.errors import ModelMissingError

    with pytest.raises(ModelMissingError, match="download_model.py --model qwen2.5-coder-0.5b-instruct"):
        load_genai(_settings(tmp_path, DRAFT_MODEL="qwen2.5-coder-0.5b-instruct",
                             DRAFT_MODEL_DIR=str(tmp_path / "nowhere")))


def test_a_draft_with_another_tokenizer_is_refused_before_loading(tmp_path):
    from ragbot.backends.genai import load_genai
    from ragbot.errors import ConfigError

    from probes.models import tiny_random_dir

    with pytest.raises(ConfigError, match="tokenises .* differently from the LLM"):
        load_genai(_settings(tmp_path, DRAFT_MODEL_DIR=str(tiny_random_dir())))


def test_the_optimum_backend_says_it_decodes_plainly(monkeypatch, tmp_path):
    import dataclasses

    from ragbot.presets import PRESETS, DecodingProfile, get_preset
    from ragbot.backends.optimum import decoding_note
    from ragbot.settings import Settings

    assert "plain" in decoding_note(Settings.from_env(tmp_path, {}))
    preset = dataclasses.replace(get_preset("tiny-random"), name="looking-up",
                                 decoding=DecodingProfile(prompt_lookup=True))
    monkeypatch.setitem(PRESETS, preset.name, preset)
    note = decoding_note(Settings.from_env(tmp_path, {"SELECTED_MODEL": preset.name}))
    assert "prompt lookup is off with this backend" in note and "LLM_BACKEND=genai" in note


def test_under_load_a_new_stream_drafts_one_token_per_step():
    from ragbot.backends.drafting import BUSY_STREAMS, PLAIN, PROMPT_LOOKUP, Drafting

    drafting = Drafting(PROMPT_LOOKUP, num_assistant_tokens=5)
    assert drafting.under_load(BUSY_STREAMS - 1) is drafting
    assert drafting.under_load(BUSY_STREAMS).num_assistant_tokens == 1
    assert Drafting(PLAIN).under_load(8) == Drafting(PLAIN)


def test_a_stream_arriving_while_another_generates_drafts_less(backends, monkeypatch):
    backend, _ = backends["prompt_lookup"]
    sizes = []
    submit = backend.engine.submit
    monkeypatch.setattr(backend.engine, "submit",
                        lambda ids, config, cancel: (sizes.append(config.num_assistant_tokens), submit(ids, config, cancel))[1])
    prompt = _prompt(backend.tokenizer, QUESTIONS[0])
    first = generate(backend, prompt, max_new_tokens=24)
    next(first)  # the first stream is generating
    second = "".join(generate(backend, prompt, max_new_tokens=24))
    rest = "".join(first)
    assert sizes == [5, 1] and second and rest
    "".join(generate(backend, prompt, max_new_tokens=4))  # alone again: drafts its 5
    assert sizes[-1] == 5
