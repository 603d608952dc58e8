"""The genai KV cache is sized from the settings (kv_cache.py) and the engine gets exactly that:
the planned bytes equal what the engine reports it allocated, for the default (u8) and bf16."""
from __future__ import annotations

import logging

import pytest
from ragbot.backends.kv_cache import MB, KvShape, kv_bytes_per_token, plan_kv_cache
from ragbot.errors import ConfigError

from probes.knowledge import SERVABLE, rag_env
from tests.generation import generate
from probes.models import tiny_random_dir

pytestmark = pytest.mark.model

TINYLLAMA = KvShape(layers=22, kv_heads=4, head_dim=64)
GB = 1024 * MB


def test_tinyllama_needs_22_kb_per_token_at_bf16_and_13_kb_at_u8():
    assert kv_bytes_per_token(TINYLLAMA, "bf16") == 22 * 4 * 64 * 2 * 2  # 22.0 KiB
    assert kv_bytes_per_token(TINYLLAMA, "u8") == 22 * 4 * (80 + 72)  # 13.1 KiB


def test_the_plan_is_sequences_times_context_times_bytes_per_token():
    plan = plan_kv_cache(tiny_random_dir(), "CPU", {}, context_window=2048, max_concurrent_streams=32,
                         max_num_seqs=16, memory_bytes=64 * GB)
    per_token = kv_bytes_per_token(KvShape.from_model_dir(tiny_random_dir()), "bf16")
    assert plan.bytes_per_token == per_token
    # tiny-random's 16 × 2048 tokens are below the floor: raised to it, in whole blocks
    assert plan.tokens * per_token >= 32 * MB and "floor" in plan.how
    fewer = plan_kv_cache(tiny_random_dir(), "CPU", {}, context_window=2048, max_concurrent_streams=4,
                          max_num_seqs=16, memory_bytes=64 * GB)
    assert fewer.tokens == plan.tokens  # still the floor


def test_a_large_plan_is_capped_at_a_quarter_of_memory_and_kv_cache_mb_overrides(tmp_path):
    model = tmp_path / "big"
    model.mkdir()
    (model / "config.json").write_text('{"num_hidden_layers": 32, "num_attention_heads": 32, '
                                       '"num_key_value_heads": 8, "hidden_size": 4096}')
    sized = plan_kv_cache(model, "CPU", {}, 4096, 32, 16, memory_bytes=64 * GB)
    assert sized.tokens == 8 * 4096 and sized.mb == 8 * 4096 * 128 / 1024  # 128 KB/token, 4 GB: 8 full windows
    capped = plan_kv_cache(model, "CPU", {}, 4096, 32, 16, memory_bytes=8 * GB)
    assert capped.mb <= 2 * 1024 and "capped" in capped.how
    u8 = plan_kv_cache(model, "CPU", {"KV_CACHE_PRECISION": "u8"}, 4096, 32, 16, memory_bytes=64 * GB)
    assert u8.mb < 0.6 * sized.mb
    fixed = plan_kv_cache(model, "CPU", {}, 4096, 32, 16, override_mb=512)
    assert fixed.mb == 512 and fixed.how == "KV_CACHE_MB=512"


def test_a_folder_without_config_json_is_a_config_error_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        plan_kv_cache(tmp_path, "CPU", {}, 2048, 1, 1)


def test_settings_read_kv_cache_mb():
    from ragbot.settings import Settings

    assert Settings.from_env(SERVABLE, {}).kv_cache_mb is None
    assert Settings.from_env(SERVABLE, {"KV_CACHE_MB": "300"}).kv_cache_mb == 300
    with pytest.raises(ConfigError, match="KV_CACHE_MB"):
        Settings.from_env(SERVABLE, {"KV_CACHE_MB": "lots"})


@pytest.mark.parametrize("precision", ["", "bf16"])
def test_the_engine_allocates_what_was_planned_and_start_up_logs_it(tmp_path, caplog, precision):
    from ragbot.backends.genai import engine_kv_bytes, engine_properties, load_genai
    from ragbot.settings import Settings

    ov_config = '{"KV_CACHE_PRECISION": "%s"}' % precision if precision else "{}"
    settings = Settings.from_env(SERVABLE, rag_env(tmp_path / "docs.txt", LLM_BACKEND="genai",
                                                   KV_CACHE_MB="3", OV_CONFIG=ov_config))
    with caplog.at_level(logging.INFO, logger="ragbot.backends"):
        backend = load_genai(settings)
    try:
        "".join(generate(backend, "<|user|>\nHi</s>\n<|assistant|>\n", max_new_tokens=2, ignore_eos=True))
        props = engine_properties(dict(settings.ov_config))
        assert props["KV_CACHE_PRECISION"] == (precision or "u8")  # u8 unless OV_CONFIG says otherwise
        plan = plan_kv_cache(tiny_random_dir(), "CPU", props, 2048, 32, 16, override_mb=3)
        assert plan.precision == (precision or "u8")
        assert engine_kv_bytes(backend.engine._pipe) == plan.tokens * plan.bytes_per_token
        logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("KV cache:")]
        assert len(logged) == 1 and "KV_CACHE_MB=3" in logged[0] and " 3 MB " in logged[0]
        assert any("prefill slices of 256 tokens" in r.getMessage() for r in caplog.records)
    finally:
        backend.close()


def test_max_num_batched_tokens_is_read_and_a_long_prompt_is_prefilled_in_slices(tmp_path):
    from ragbot.backends.genai import load_genai
    from ragbot.run import GenerationStats
    from ragbot.settings import Settings

    assert Settings.from_env(SERVABLE, {}).max_num_batched_tokens == 256
    with pytest.raises(ConfigError, match="MAX_NUM_BATCHED_TOKENS"):
        Settings.from_env(SERVABLE, {"MAX_NUM_BATCHED_TOKENS": "8"})  # below a step's needs
    settings = Settings.from_env(SERVABLE, rag_env(tmp_path / "docs.txt", LLM_BACKEND="genai",
                                                   KV_CACHE_MB="3", MAX_NUM_BATCHED_TOKENS="64"))
    backend = load_genai(settings)
    try:
        prompt = "<|user|>\n" + " ".join(["kettle"] * 300) + "</s>\n<|assistant|>\n"
        assert backend.count_tokens(prompt) > 4 * 64  # five slices or more
        stats = GenerationStats()
        "".join(generate(backend, prompt, max_new_tokens=4, ignore_eos=True, stats=stats))
        assert stats.completion_tokens == 4 and stats.prompt_tokens > 4 * 64
    finally:
        backend.close()


def test_u8_is_the_cpu_default_and_ov_config_overrides_it():
    from ragbot.backends.genai import engine_properties

    assert engine_properties({}, "CPU") == {"KV_CACHE_PRECISION": "u8"}
    assert engine_properties({"KV_CACHE_PRECISION": "bf16", "CACHE_DIR": ""}, "CPU") == {"KV_CACHE_PRECISION": "bf16"}
    assert engine_properties({"KV_CACHE_PRECISION": ""}, "CPU") == {}  # empty: the plugin decides
    assert engine_properties({}, "GPU.0") == {}  # the GPU plugin keeps its own default


def test_the_qwen_15b_plan_holds_eight_full_windows_in_518_mb_of_u8(tmp_path):
    model = tmp_path / "qwen15"
    model.mkdir()
    (model / "config.json").write_text('{"num_hidden_layers": 28, "num_attention_heads": 12, '
                                       '"num_key_value_heads": 2, "hidden_size": 1536}')
    plan = plan_kv_cache(model, "CPU", {"KV_CACHE_PRECISION": "u8"}, 4096, 32, 16, memory_bytes=24 * GB)
    assert plan.bytes_per_token == 28 * 2 * (128 + 8 * 128 // 32 + 128 + 8)  # 16.2 KB
    assert plan.tokens == 8 * 4096 and round(plan.mb) == 518
