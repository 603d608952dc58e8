import json
from pathlib import Path

import pytest
from ragbot.errors import ConfigError
from ragbot.settings import DEFAULT_OV_CONFIG, Settings


def test_defaults(tmp_path):
    s = Settings.from_env(tmp_path, {})
    assert s.selected_model == "tiny-llama-1b-chat"
    assert s.llm_model_dir == tmp_path / "tiny-llama-1b-chat"
    assert s.embedding_model == "all-mpnet-base-v2"
    assert s.embedding_model_dir == tmp_path / "all-mpnet-base-v2"
    assert s.device == "CPU"
    assert dict(s.ov_config) == DEFAULT_OV_CONFIG
    assert (s.max_new_tokens, s.seed, s.top_k, s.chunk_size, s.chunk_overlap) == (256, None, 2, 1000, 200)
    assert (s.retrieval_mode, s.min_score, s.max_documents, s.query_rewrite, s.prompt_examples) == (
        "hybrid", 0.3, 1, "join", False)
    assert s.docs_file == tmp_path / "docs.txt"
    assert s.llm_backend == "optimum"
    assert s.docs_refresh_seconds == 3600.0
    assert s.preset.prompt_style == "zephyr"


def test_the_selected_preset_sets_the_answering_defaults_and_env_still_wins(tmp_path):
    from ragbot.presets import get_preset

    name = "qwen2.5-coder-1.5b-instruct"
    profile = get_preset(name).answering
    s = Settings.from_env(tmp_path, {"SELECTED_MODEL": name})
    assert (s.top_k, s.max_documents, s.prompt, s.prompt_examples, s.max_new_tokens, s.chunk_size,
            s.chunk_overlap, s.attribute_citations, s.passage_reflow, s.named_documents, s.figure_check) == (
        profile.top_k, profile.max_documents, profile.prompt, profile.prompt_examples,
        profile.max_new_tokens, profile.chunk_size, profile.chunk_overlap, profile.attribute_citations,
        profile.passage_reflow, profile.named_documents, profile.figure_check)
    assert (profile.prompt, profile.max_documents, profile.attribute_citations, profile.named_documents,
            profile.figure_check) == ("grounded", 0, True, True, True)
    s = Settings.from_env(tmp_path, {"SELECTED_MODEL": name, "TOP_K": "1", "MAX_DOCUMENTS": "3",
                                     "PROMPT": "plain", "PROMPT_EXAMPLES": "false",
                                     "PASSAGE_REFLOW": str(not profile.passage_reflow),
                                     "NAMED_DOCUMENTS": "off", "FIGURE_CHECK": "off"})
    assert (s.top_k, s.max_documents, s.prompt, s.prompt_examples) == (1, 3, "plain", False)
    assert s.passage_reflow is not profile.passage_reflow and s.named_documents is s.figure_check is False
    assert Settings.from_env(tmp_path, {"SELECTED_MODEL": name}).llm_backend == "genai"
    assert Settings.from_env(tmp_path, {"SELECTED_MODEL": name, "LLM_BACKEND": "optimum"}).llm_backend == "optimum"
    with pytest.raises(ConfigError, match="PROMPT='chatty' is not allowed; allowed values: plain, grounded"):
        Settings.from_env(tmp_path, {"PROMPT": "chatty"})


def test_values_and_path_resolution(tmp_path):
    env = {
        "SELECTED_MODEL": "llama-2-chat-7b",
        "LLM_MODEL_DIR": "llama-2-chat-7b_INT8_compressed_weights",
        "EMBEDDING_MODEL_DIR": "/models/emb",
        "DEVICE": "GPU",
        "OV_CONFIG": json.dumps({"INFERENCE_PRECISION_HINT": "f32"}),
        "MAX_NEW_TOKENS": "32",
        "SEED": "7",
        "DOCS_FILE": "kb/list.txt",
        "TOP_K": "2",
        "CHUNK_SIZE": "300",
        "CHUNK_OVERLAP": "0",
        "DOCS_REFRESH_SECONDS": "0",
    }
    s = Settings.from_env(tmp_path, env)
    assert s.llm_model_dir == tmp_path / "llama-2-chat-7b_INT8_compressed_weights"
    assert s.embedding_model_dir == Path("/models/emb")
    assert s.device == "GPU"
    assert s.ov_config["INFERENCE_PRECISION_HINT"] == "f32"
    assert s.ov_config["PERFORMANCE_HINT"] == "LATENCY"
    assert (s.max_new_tokens, s.seed, s.top_k, s.chunk_size, s.chunk_overlap) == (32, 7, 2, 300, 0)
    assert s.docs_file == tmp_path / "kb" / "list.txt"
    assert s.docs_refresh_seconds == 0.0  # off
    assert s.preset.prompt_style == "llama2"


def test_settings_are_frozen(tmp_path):
    s = Settings.from_env(tmp_path, {})
    with pytest.raises(AttributeError):
        s.top_k = 3


@pytest.mark.parametrize(
    "env, fragments",
    [
        ({"SELECTED_MODEL": "gpt-5"}, ["SELECTED_MODEL", "tiny-llama-1b-chat", "notus-7b-v1"]),
        ({"DEVICE": "npu"}, ["DEVICE", "cpu", "gpu"]),
        ({"OV_CONFIG": "{bad"}, ["OV_CONFIG", "JSON"]),
        ({"OV_CONFIG": "[1]"}, ["OV_CONFIG", "JSON object"]),
        ({"MAX_NEW_TOKENS": "many"}, ["MAX_NEW_TOKENS", "integer"]),
        ({"MAX_NEW_TOKENS": "0"}, ["MAX_NEW_TOKENS", ">= 1"]),
        ({"TOP_K": "-1"}, ["TOP_K", ">= 1"]),
        ({"SEED": "x"}, ["SEED", "integer"]),
        ({"CHUNK_SIZE": "100", "CHUNK_OVERLAP": "100"}, ["CHUNK_OVERLAP", "CHUNK_SIZE"]),
        ({"LLM_BACKEND": "vllm"}, ["LLM_BACKEND", "optimum"]),
        ({"DOCS_REFRESH_SECONDS": "-5"}, ["DOCS_REFRESH_SECONDS", ">= 0"]),
        ({"DOCS_REFRESH_SECONDS": "hourly"}, ["DOCS_REFRESH_SECONDS", "number"]),
    ],
)
def test_invalid_values_name_variable_and_allowed(tmp_path, env, fragments):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(tmp_path, env)
    for fragment in fragments:
        assert fragment in str(info.value)
