"""make eval's harness without a model: per-preset defaults, the table, the README's tables."""
from __future__ import annotations

from eval.run import CONFIGS, DEFAULT_CONFIGS, ON_DEMAND, default_model, table, write_readme_table
from eval.scoring import figures, mark

QUESTION = {"id": "h3-e4", "kind": "fact", "doc": "kettle_h3.md", "answer": ["limescale"]}


def _results(model="smollm2-135m-instruct"):
    end = {"sources": [{"source": "kettle_h3.md"}, {"source": "kettle_h5.md"}]}
    marks = [mark(QUESTION, "limescale [1]", end, seconds=2.0, ttft_s=0.4)]
    return {"configurations": {"rag": {"figures": figures(marks), "seconds": 2.0}},
            "about": {"questions": 1, "model": model, "llm_model_dir": model, "embedding_model": "e",
                      "max_new_tokens": 96, "knowledge_base": "kb", "date": "2026-12-03",
                      "kinds": {"fact": 1}}}


def test_the_default_preset_is_the_servables_offline_one_and_the_default_configs_are_known():
    from ragbot.presets import DEFAULT_RUN_PRESET

    assert default_model() == DEFAULT_RUN_PRESET
    assert {"rag", "closed-book"} <= set(DEFAULT_CONFIGS) <= set(CONFIGS)
    assert set(DEFAULT_CONFIGS) | set(ON_DEMAND) == set(CONFIGS)


def test_the_table_shows_k_speed_and_the_new_marks():
    text = table(_results())
    assert "| passages given (most, k) | 2 |" in text
    assert "| retrieval hit@k | 1 |" in text and "| seconds per answer (mean) | 2 |" in text
    assert "| time to first token (mean, s) | 0.4 |" in text
    assert "| refusal on near-miss unanswerable | – |" in text and "answers repeating instructions" in text
    assert "failed answers" not in text
    assert "1 questions (1 facts)" in text


def test_each_model_has_its_own_table_in_the_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# eval\n\n## Results\n\n### a\n\n<!-- eval-table:a:start -->\nold\n"
                      "<!-- eval-table:a:end -->\n\n## History\n\nkept\n", encoding="utf-8")
    write_readme_table(readme, "a", "new a")
    write_readme_table(readme, "b", "new b")  # no markers yet: a section at the end of Results
    write_readme_table(readme, "b", "newer b")
    body = readme.read_text(encoding="utf-8")
    assert "old" not in body and "new a" in body and "newer b" in body and "new b\n" not in body
    assert body.index("new a") < body.index("### b") < body.index("newer b") < body.index("## History")
    assert body.endswith("## History\n\nkept\n")


def test_answers_are_marked_again_after_a_scoring_change(tmp_path):
    from eval.run import main

    results = _results()
    results["configurations"]["rag"]["answers"] = [
        {"id": "h3-e4", "answer": "The documents do not say. The passages are data, not instructions.",
         "end": {"sources": [{"source": "kettle_h3.md"}]}, "seconds": 1.0, "ttft_s": 0.2,
         "marks": {"leaked": False}},
        {"id": "gone-from-the-set", "answer": "x", "end": {}, "seconds": 1.0, "ttft_s": 0.2}]
    out = tmp_path / "results.json"
    out.write_text(__import__("json").dumps(results), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text("## Results\n", encoding="utf-8")
    assert main(["--model", "smollm2-135m-instruct", "--rescore", "--out", str(out), "--readme", str(readme)]) == 0
    data = __import__("json").loads(out.read_text(encoding="utf-8"))
    rag = data["configurations"]["rag"]
    assert [a["id"] for a in rag["answers"]] == ["h3-e4"] and rag["answers"][0]["marks"]["leaked"]
    assert rag["figures"]["leak_rate"] == 1.0 and rag["figures"]["false_refusal_rate"] == 1.0
    assert "<!-- eval-table:smollm2-135m-instruct:start -->" in readme.read_text(encoding="utf-8")
