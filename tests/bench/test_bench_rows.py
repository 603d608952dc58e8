"""The new bench rows' arithmetic and the portable llama.cpp build's helpers, without a model."""
from __future__ import annotations

from benchmarks.llamacpp_build import CPU_VARIANTS, _keep_variants, _loaded_variant
from benchmarks.run import embed_goals, smollm2_goals
from benchmarks.served import concurrency_bound


def test_the_concurrency_bound_is_n_prefills_plus_one_batched_decode():
    single = {"ttft_s_max": 2.0, "aggregate_tok_s": 6.0}
    bound = concurrency_bound(single, {"decode_span_s_max": 30.0, "prompt_tokens_mean": 40})
    assert bound["bound_s"] == 46.0  # 8 × 2 s + 30 s
    assert bound["bound_tok_s"] == round(8 * 128 / 46, 2)
    assert bound["bound"] == round(8 * 128 / 46 / 6.0, 2)
    assert concurrency_bound({}, {})["bound"] is None


def test_smollm2_and_embedding_goals_compare_the_best_of_ours_with_the_peer():
    o = {"smollm2": {"ours_int8": {"decode_tok_s": 100, "request_s": 5.0},
                     "ours_int4": {"decode_tok_s": 120, "request_s": 6.0},
                     "llamacpp_q4_1": {"decode_tok_s": 100, "request_s": 7.5, "cpu_variant": "zen4"}},
         "embeddings": {"served_fp32_chunks_s": 40, "served_int8_chunks_s": 80, "torch_chunks_s": 20}}
    g = smollm2_goals(o)
    assert g["smollm2_ours_vs_llamacpp_decode"]["value"] == 1.2  # INT4 decodes fastest
    assert g["smollm2_llamacpp_vs_ours_request"]["value"] == 1.5  # INT8 answers soonest
    assert g["smollm2_ours_vs_llamacpp_decode"]["raw"]["llamacpp_cpu_variant"] == "zen4"
    e = embed_goals(o)
    assert e["embed_ov_vs_torch"]["value"] == 2.0 and e["embed_ov_int8_vs_torch"]["value"] == 4.0


def test_the_vendored_variant_list_is_cut_to_ours_and_the_loaded_one_is_read(tmp_path):
    cmake = tmp_path / "ggml" / "src" / "CMakeLists.txt"
    cmake.parent.mkdir(parents=True)
    cmake.write_text('if (GGML_SYSTEM_ARCH STREQUAL "x86")\n'
                     "    ggml_add_cpu_backend_variant(x64)\n"
                     "    ggml_add_cpu_backend_variant(sse42              SSE42)\n"
                     "    ggml_add_cpu_backend_variant(haswell            SSE42 AVX F16C FMA AVX2 BMI2)\n"
                     'elseif(GGML_SYSTEM_ARCH STREQUAL "ARM")\n'
                     "    ggml_add_cpu_backend_variant(armv8.0_1)\nendif()\n")
    _keep_variants(tmp_path)
    text = cmake.read_text()
    assert "sse42" not in text and "(x64)" in text and "(haswell" in text and "armv8.0_1" in text
    assert "sse42" not in CPU_VARIANTS
    log = "load_backend: loaded CPU backend from /x/lib/libggml-cpu-icelake.so\n"
    assert _loaded_variant(log) == "icelake" and _loaded_variant("nothing") is None


def test_owui_rows_are_the_ratio_of_median_ttfts(monkeypatch):
    from benchmarks import owui_bench
    from benchmarks.run import owui_goals

    runs = {"optimum": {"ttft_alone_s": [1.0], "ttft_beside_s": [1.1], "ttft_alone_median_s": 1.0,
                        "ttft_beside_median_s": 1.1, "ratio": 1.1, "title_s_median": 3.0,
                        "title_tokens": [12], "rounds": 1},
            "genai": {"ttft_alone_median_s": 0.5, "ttft_beside_median_s": 0.6, "ratio": 1.2,
                      "rounds": 1}}
    monkeypatch.setattr(owui_bench, "measure", lambda backend: dict(runs[backend]))
    out = owui_bench.owui_measurements(log=lambda *_: None)
    goals = owui_goals({"owui": out})
    assert set(goals) == {"owui_title_beside_ttft_ratio_optimum", "owui_title_beside_ttft_ratio_genai"}
    assert goals["owui_title_beside_ttft_ratio_optimum"]["value"] == 1.1
    assert goals["owui_title_beside_ttft_ratio_genai"]["raw"]["ttft_beside_median_s"] == 0.6
