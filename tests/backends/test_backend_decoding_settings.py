"""PROMPT_LOOKUP / DRAFT_MODEL / DRAFT_MODEL_DIR / NUM_ASSISTANT_TOKENS / MAX_NGRAM_SIZE and
LLM_BACKEND against a preset's defaults (presets.DecodingProfile, Preset.llm_backend)."""
from __future__ import annotations

import dataclasses

import pytest
from ragbot.presets import PRESETS, DecodingProfile, get_preset
from ragbot.errors import ConfigError
from ragbot.settings import Settings

GENAI = {"LLM_BACKEND": "genai"}


@pytest.fixture
def looking_up(monkeypatch):
    """A preset whose measured default is prompt lookup on genai (as a Qwen preset's may be)."""
    preset = dataclasses.replace(get_preset("tiny-random"), name="lookup-preset", llm_backend="genai",
                                 decoding=DecodingProfile(prompt_lookup=True, num_assistant_tokens=4, max_ngram_size=2))
    monkeypatch.setitem(PRESETS, preset.name, preset)
    return {"SELECTED_MODEL": preset.name}


def test_plain_decoding_by_default(tmp_path):
    s = Settings.from_env(tmp_path, GENAI)
    assert (s.prompt_lookup, s.draft_model, s.draft_model_dir) == (False, None, None)
    assert (s.num_assistant_tokens, s.max_ngram_size) == (5, 3)


def test_prompt_lookup_and_its_sizes(tmp_path):
    s = Settings.from_env(tmp_path, {**GENAI, "PROMPT_LOOKUP": "on", "NUM_ASSISTANT_TOKENS": "7",
                                     "MAX_NGRAM_SIZE": "2"})
    assert (s.prompt_lookup, s.num_assistant_tokens, s.max_ngram_size) == (True, 7, 2)


def test_a_draft_model_is_a_preset_in_its_folder_or_a_folder(tmp_path):
    s = Settings.from_env(tmp_path, {**GENAI, "DRAFT_MODEL": "qwen2.5-coder-0.5b-instruct"})
    assert s.draft_model_dir == tmp_path / "qwen2.5-coder-0.5b-instruct" and not s.prompt_lookup
    s = Settings.from_env(tmp_path, {**GENAI, "DRAFT_MODEL_DIR": "drafts/small"})
    assert s.draft_model_dir == tmp_path / "drafts" / "small"


def test_the_presets_defaults_and_what_overrides_them(tmp_path, looking_up):
    s = Settings.from_env(tmp_path, looking_up)
    assert (s.llm_backend, s.prompt_lookup, s.num_assistant_tokens, s.max_ngram_size) == ("genai", True, 4, 2)
    assert not Settings.from_env(tmp_path, {**looking_up, "PROMPT_LOOKUP": "off"}).prompt_lookup
    # a draft model asked for turns the preset's prompt lookup off: genai runs one or the other
    s = Settings.from_env(tmp_path, {**looking_up, "DRAFT_MODEL": "qwen2.5-coder-0.5b-instruct"})
    assert s.draft_model_dir is not None and not s.prompt_lookup
    # the optimum backend has neither: the preset's default is dropped (its load log says so)
    s = Settings.from_env(tmp_path, {**looking_up, "LLM_BACKEND": "optimum"})
    assert (s.llm_backend, s.prompt_lookup) == ("optimum", False)


def test_no_preset_defaults_to_both_modes():
    for preset in PRESETS.values():
        assert not (preset.decoding.prompt_lookup and preset.decoding.draft_model), preset.name
        assert preset.decoding.draft_model in (None, *PRESETS), preset.name


@pytest.mark.parametrize("env, fragments", [
    ({**GENAI, "PROMPT_LOOKUP": "on", "DRAFT_MODEL": "qwen2.5-coder-0.5b-instruct"},
     ["PROMPT_LOOKUP", "DRAFT_MODEL", "mutually exclusive"]),
    ({"LLM_BACKEND": "optimum", "PROMPT_LOOKUP": "on"}, ["PROMPT_LOOKUP", "LLM_BACKEND=genai", "optimum"]),
    ({"LLM_BACKEND": "optimum", "DRAFT_MODEL_DIR": "/models/d"}, ["draft model", "LLM_BACKEND=genai"]),
    ({**GENAI, "DRAFT_MODEL": "gpt-tiny"}, ["DRAFT_MODEL", "not a known preset", "off"]),
    ({**GENAI, "DRAFT_MODEL": "off", "DRAFT_MODEL_DIR": "/models/d"}, ["DRAFT_MODEL=off", "DRAFT_MODEL_DIR"]),
    ({**GENAI, "PROMPT_LOOKUP": "maybe"}, ["PROMPT_LOOKUP", "boolean"]),
    ({**GENAI, "NUM_ASSISTANT_TOKENS": "0"}, ["NUM_ASSISTANT_TOKENS", ">= 1"]),
    ({**GENAI, "MAX_NGRAM_SIZE": "x"}, ["MAX_NGRAM_SIZE", "integer"]),
])
def test_invalid_decoding_settings_name_the_variable(tmp_path, env, fragments):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(tmp_path, env)
    for fragment in fragments:
        assert fragment in str(info.value)
