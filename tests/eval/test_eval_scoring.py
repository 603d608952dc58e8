"""make eval's marking rules (eval/scoring.py), on hand-written answers."""
from __future__ import annotations

import json

import pytest

from eval.scoring import citations, contains_answer, figures, gold_rank, is_refusal, mark
from probes.models import REPO_ROOT

Q = {"id": "h3-e4", "kind": "fact", "doc": "kettle_h3.md", "answer": ["limescale"]}
SOURCES = [{"source": "kettle_h5.md"}, {"source": "kettle_h3.md"}, {"source": "python_if.txt"}]


@pytest.mark.parametrize("text, golds, right", [
    ("E4 means the limescale sensor is blocked.", ["limescale"], True),
    ("E4 means LIMESCALE.", ["limescale"], True),
    ("It has 15 presets", ["15"], True),
    ("It costs 150 euros", ["15"], False),
    ("a 1.5 litre kettle", ["5"], False),
    ("needs Python 3.8 or newer", ["3"], False),
    ("needs Python 3.8.", ["3.8"], True),
    ("about 9,000 adults", ["9,000", "9000"], True),
    ("It is closed.", ["limescale"], False),
])
def test_a_gold_string_counts_as_a_whole_word_or_number(text, golds, right):
    assert contains_answer(text, golds) is right


@pytest.mark.parametrize("text", [
    "I don't know.", "The documents do not mention the price.", "The price is not provided in the context.",
    "There is no information about its designer.", "I cannot answer that from the documents.", "",
])
def test_refusals_are_recognised(text):
    assert is_refusal(text)


@pytest.mark.parametrize("text", ["The E4 code means the tank is empty [1].", "It was lit in 1874."])
def test_answers_are_not_refusals(text):
    assert not is_refusal(text)


def test_rank_of_the_gold_document_and_citations():
    assert gold_rank(SOURCES, "kettle_h3.md") == 2
    assert gold_rank([{"source": "/kb/kettle_h3.md"}], "kettle_h3.md") == 1
    assert gold_rank(SOURCES, "quillfs_2.md") is None
    assert citations("see [2] and [1], again [2]") == (2, 1)


def test_a_citation_is_valid_only_in_range_and_pointing_at_the_gold_document():
    end = {"sources": SOURCES, "usage": {"prompt_tokens": 900, "completion_tokens": 20}}
    assert mark(Q, "The limescale sensor is blocked [2].", end).citation_valid is True
    assert mark(Q, "The limescale sensor is blocked [1].", end).citation_valid is False  # the twin
    assert mark(Q, "The limescale sensor is blocked [2][7].", end).citation_valid is False  # not given
    assert mark(Q, "The limescale sensor is blocked.", end).citation_valid is None  # cites nothing
    m = mark(Q, "The limescale sensor is blocked [2].", end)
    assert (m.rank, m.passages, m.right, m.prompt_tokens) == (2, 3, True, 900)


def test_figures_over_a_small_set():
    end = {"sources": SOURCES}
    marks = [
        mark(Q, "limescale [2]", end),
        mark({**Q, "id": "b", "doc": "kettle_h5.md", "answer": ["empty"]}, "limescale", end),
        mark({**Q, "id": "c", "kind": "followup"}, "I don't know.", end),
        mark({"id": "u", "kind": "unanswerable"}, "The documents do not say.", end),
        mark({"id": "u2", "kind": "unanswerable"}, "It costs 30 euros.", end),
    ]
    f = figures(marks, k=4)
    assert (f["hit_at_1"], f["hit_at_4"], f["mrr"]) == (0.333, 1.0, 0.667)
    assert (f["answer_accuracy"], f["followup_accuracy"], f["refusal_rate"]) == (0.5, 0.0, 0.5)
    assert (f["citation_rate"], f["citation_validity"], f["false_refusal_rate"]) == (0.333, 1.0, 0.333)


def test_every_question_of_the_shipped_set_is_well_formed():
    data = json.loads((REPO_ROOT / "eval" / "questions.json").read_text(encoding="utf-8"))
    corpus = {p.name for p in (REPO_ROOT / "eval" / "corpus").glob("*.md")}
    ids = [q["id"] for q in data["questions"]]
    assert len(ids) == len(set(ids))
    kinds = {q["kind"] for q in data["questions"]}
    assert kinds == {"fact", "paraphrase", "followup", "unanswerable"}
    for q in data["questions"]:
        if q["kind"] == "unanswerable":
            assert "doc" not in q and "answer" not in q
            continue
        assert q["doc"] in corpus and q["answer"], q["id"]
        text = (REPO_ROOT / "eval" / "corpus" / q["doc"]).read_text(encoding="utf-8")
        assert contains_answer(text, q["answer"]), f"{q['id']}: no gold string in {q['doc']}"
        if q["kind"] == "followup":
            assert [t["role"] for t in q["history"]] == ["user", "assistant"]


def test_make_eval_runs_end_to_end_on_a_few_questions(tmp_path):
    """The harness itself (knowledge base, host, both configurations, results), on the
    real model with the small test embeddings, three questions and three distractors."""
    import subprocess
    import sys

    from probes.models import minilm_dir, smollm2_dir

    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "eval.run", "--limit", "3", "--distractors", "3", "--max_new_tokens", "16",
         "--model_dir", str(smollm2_dir()),
         "--embedding_model", "all-MiniLM-L6-v2", "--embedding_dir", str(minilm_dir()),
         "--out", str(out), "--readme", "", "--work_dir", str(tmp_path / "work"),
         "--configs", "rag,closed-book"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.read_text())
    assert set(data["configurations"]) == {"rag", "closed-book"}
    rag, closed = data["configurations"]["rag"], data["configurations"]["closed-book"]
    assert rag["figures"]["questions"] == 3 and rag["figures"]["hit_at_1"] is not None
    assert all(a["end"]["sources"] == [] for a in closed["answers"])
    assert all(a["end"]["sources"] for a in rag["answers"])
    assert "| answer accuracy |" in result.stdout
