"""The bench rows' arithmetic, the portable llama.cpp build's helpers and the quote prompt's capture."""
from __future__ import annotations

import pytest

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
def test_the_qwen15_goals_compare_plain_with_the_best_drafting_mode_and_llamacpp():
    from benchmarks.qwen15 import qwen15_goals, steps_between

    def served(quote_s, decode, rag_s, conc4, rss, peak, sha="a"):
        return {"quote": {"request_s": quote_s, "decode_tok_s": decode, "answer_sha": sha, "acceptance": 0.6,
                          "tokens_per_step": 3.0},
                "rag": {"request_s_sum": rag_s, "answers_sha": sha, "acceptance": 0.5},
                "concurrency": {"4": {"aggregate_tok_s": conc4}},
                "rss_after_answers_mb": {"VmRSS": rss}, "at_ready_mb": {"VmHWM": peak}}

    o = {"qwen15": {
        "served": {"plain": served(12.0, 11.0, 40.0, 20.0, 1500, 1600),
                   "prompt_lookup": served(6.0, 30.0, 25.0, 21.0, 1520, 1610),
                   "draft_model": served(10.0, 16.0, 35.0, 15.0, 2000, 2100, sha="b")},
        "engine": {"plain": {"corpus_1000": {"ttft_s": 3.0}}, "prompt_lookup": {"corpus_1000": {"ttft_s": 3.2}},
                   "draft_model": {"corpus_1000": {"ttft_s": 4.0}}, "both": {"error": "mutually exclusive"}},
        "llamacpp": {"corpus_1000": {"ttft_s": 12.0}, "quote": {"decode_tok_s": 15.0}},
        "default_mode": "prompt_lookup"}}
    g = qwen15_goals(o)
    assert g["qwen15_quote_speedup"]["value"] == 2.0 and g["qwen15_quote_speedup"]["raw"]["best_mode"] == "prompt_lookup"
    assert g["qwen15_rag_request_speedup"]["value"] == 1.6
    assert g["qwen15_ours_vs_llamacpp_decode"]["value"] == 2.0  # 30 served vs llama.cpp's 15
    assert g["qwen15_llamacpp_vs_ours_ttft_1000"]["value"] == 4.0  # 12 s vs the quickest of ours
    assert g["rss_mb_served_qwen15"]["value"] == 1520 and g["rss_mb_served_qwen15"]["raw"]["peak_while_loading_mb"] == 1610
    assert g["qwen15_concurrency4_best_vs_plain"]["value"] == 1.05
    same = g["qwen15_quote_speedup"]["raw"]["same_answer_as_plain"]
    assert same["prompt_lookup"]["quote"] is True and same["draft_model"]["quote"] is False
    # acceptance from the host's counters: 2 answers, 40 tokens in 14 steps, 5 drafted per step
    acc = steps_between({"ragbot_generated_tokens_total": 10, "ragbot_model_steps_total": 10},
                        {"ragbot_generated_tokens_total": 50, "ragbot_model_steps_total": 24}, answers=2, k=5)
    assert (acc["tokens"], acc["steps"], acc["accepted_tokens"], acc["drafted_slots"]) == (40, 14, 26, 60)
    assert acc["acceptance"] == round(26 / 60, 3)


def test_the_qwen15_rows_render_one_line_per_mode_and_nothing_without_the_stage():
    from benchmarks.report import render_qwen15

    assert render_qwen15({}) == [] and render_qwen15({"build": {"error": "no wheels"}}) == []
    q = {"served": {"prompt_lookup": {"quote": {"request_s": 6.0, "tokens_per_step": 3.0},
                                      "concurrency": {"4": {"aggregate_tok_s": 21.0}}}},
         "engine": {"plain": {"corpus_1000": {"ttft_s": 3.0}}, "both": {"error": "mutually exclusive"}},
         "llamacpp": {"corpus_1000": {"ttft_s": 12.0}}}
    lines = render_qwen15(q)
    header = next(line for line in lines if line.startswith("| |"))
    rows = [line for line in lines if line.startswith("| ") and line != header]
    assert [r.split(" | ")[0] for r in rows] == ["| plain", "| prompt_lookup", "| draft_model", "| llama.cpp Q4_K_M"]
    assert all(r.count("|") == header.count("|") for r in rows)  # as many cells as the header
    assert "| 6.0 |" in rows[1] and "— / 21.0 / —" in rows[1] and "| 12.0 |" in rows[3]
    assert "refused by openvino-genai (`mutually exclusive`)" in lines[-1]


def test_the_llamacpp_build_is_recorded_with_paths_relative_to_the_repository():
    from benchmarks.llamacpp_build import recorded

    info = {"site": "/home/ci/checkout/benchmarks/.cache/llamacpp/site", "build_s": 381.4,
            "cmake_args": "-DGGML_NATIVE=OFF -DGGML_BACKEND_DIR=/x/y/benchmarks/.cache/llamacpp/site/llama_cpp/lib"}
    assert recorded(info) == {"site": "benchmarks/.cache/llamacpp/site", "build_s": 381.4,
                              "cmake_args": "-DGGML_NATIVE=OFF -DGGML_BACKEND_DIR=benchmarks/.cache/llamacpp/site/llama_cpp/lib"}


def test_the_quote_row_also_gives_the_answer_without_its_cold_prefill():
    from benchmarks.qwen15 import qwen15_goals

    def quote(request, ttft, second):
        return {"quote": {"request_s": request, "ttft_s": ttft, "second": {"request_s": second}}}

    served = {"plain": quote(9.0, 3.0, 6.0), "prompt_lookup": quote(6.0, 3.0, 3.0),
              "draft_model": quote(9.5, 4.0, 5.5)}
    raw = qwen15_goals({"qwen15": {"served": served}})["qwen15_quote_speedup"]
    assert raw["value"] == 1.5  # whole first request: 9 s plain, 6 s prompt lookup
    assert raw["raw"]["after_first_token_speedup"] == 2.0  # (9 - 3) / (6 - 3)
    assert raw["raw"]["warm_prefix_request_speedup"] == 2.0  # second ask: 6 / 3


@pytest.mark.model
def test_the_quote_prompt_is_captured_through_the_servable_without_an_llm(tmp_path):
    """qwen15_prompts' capture backend returns a plain iterator, as the backend contract
    allows: the chain must not ask it for a generator's close()."""
    from benchmarks.qwen15_prompts import capture_prompts
    from probes.knowledge import rag_env, write_knowledge

    env = rag_env(write_knowledge(tmp_path / "kb"), LLM_BACKEND="genai", INDEX_DIR="off")
    question = "What is a zorblat?"
    prompts = capture_prompts(env, [question])
    assert len(prompts[question]) > 20 and all(isinstance(i, int) for i in prompts[question])
