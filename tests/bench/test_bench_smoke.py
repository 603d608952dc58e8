"""Smoke test of the benchmark harness's plumbing (benchmarks/ is not a test suite): the per-token
clock, the served-side figures, the child-process protocol on the tiny test model, and
results writing (relative paths, README table). Fast: no TinyLlama-sized model involved."""
from __future__ import annotations

import json
import time

import pytest

from benchmarks import report
from benchmarks.common import Clock, run_child
from benchmarks.served import aggregate, decode_figures, questions

pytestmark = pytest.mark.model


def test_clock_counts_decode_from_first_to_last_token():
    clock = Clock()
    clock.start()
    for _ in range(5):
        time.sleep(0.01)
        clock.tick()
    s = clock.summary()
    assert s["new_tokens"] == 5
    assert 0 < s["ttft_s"] <= s["request_s"]
    # 4 intervals of ~10 ms between 5 tokens -> ~100 tok/s (sleep may overshoot)
    assert 20 < s["decode_tok_s"] <= 110


def test_served_figures_use_generated_tokens_not_the_requested_count():
    # 8 tokens arrived, the model stopped early at EOS: completion_tokens (usage) is the count
    t0 = 100.0
    r = decode_figures(t0, [101.0 + 0.1 * i for i in range(8)], 101.8,
                       {"completion_tokens": 8, "prompt_tokens": 300}, "stop")
    assert r["ttft_s"] == 1.0 and r["decode_tok_s"] == pytest.approx(10.0)
    other = decode_figures(100.5, [101.5, 102.5], 102.5, {"completion_tokens": 2, "prompt_tokens": 300})
    agg = aggregate([r, other, {"error": "boom"}])
    assert agg["completion_tokens"] == 10 and agg["failed"] == 1
    assert agg["aggregate_tok_s"] == pytest.approx(10 / 2.5)
    assert len(set(questions(8))) == 8  # distinct prompts: no shared prefix between streams


def test_child_protocol_and_token_clock_on_the_tiny_model():
    from probes.models import tiny_random_dir

    res = run_child("ov_backends", {"backend": "genai", "model": str(tiny_random_dir()),
                                    "prompt_tokens": 16, "new_tokens": 6, "repeats": 1}, timeout=120)
    assert "error" not in res, res.get("stderr_tail")
    assert res["new_tokens"] == 6 and res["decode_tok_s"] > 0 and res["ttft_s"] > 0


def test_results_are_written_with_relative_paths(tmp_path, monkeypatch):
    repo = str(report.REPO)
    o = {"goals": {"x_vs_y": {"value": 1.5, "raw": {"a": 1, "path": f"{repo}/benchmarks/.cache/m"}}},
         "inprocess": {"genai_int4": {"ttft_s": 1.0, "decode_tok_s": 2.0, "request_s": 3.0}},
         "llamacpp": {}, "properties": {"chosen": {}, "decode_sweep_tok_s": {}, "ttft_sweep_s": {}},
         "models": {"paths": {"torch": f"{repo}/benchmarks/.cache/models/torch"}}}
    rel = report.relative(o)
    assert repo not in json.dumps(rel)
    assert rel["models"]["paths"]["torch"] == "benchmarks/.cache/models/torch"
    (tmp_path / "README.md").write_text("# B\n")
    monkeypatch.setattr(report, "BENCH", tmp_path)
    report.update_readme(rel)
    text = (tmp_path / "README.md").read_text()
    assert "| x_vs_y | 1.5 |" in text and report.START in text


def test_gateway_bench_clock_and_pace():
    from benchmarks.gateway_bench import DEFAULT_PACE_TOK_S, _decode, served_pace

    r = _decode(10.0, [10.5, 10.6, 10.7], 3)
    assert r["ttft_s"] == pytest.approx(0.5) and r["decode_tok_s"] == pytest.approx(10.0)
    assert served_pace(None) == DEFAULT_PACE_TOK_S
    assert served_pace({"goals": {"served_vs_inprocess_decode": {"raw": {"served_decode_tok_s": 20}}}}) == 20
