"""Grounded retrieval on a small corpus with look-alike documents (real MiniLM, real BM25):
fusion order, the relevance cut-off, near-duplicates, one document's passages, sections."""
from __future__ import annotations

from pathlib import Path

import pytest

from ragbot.knowledge.index import RRF_K
from ragbot.knowledge.keywords import terms
from ragbot.knowledge.retrieval import RetrievalPolicy, retrieve
from tests.indexing import build_index

TWINS = {
    "h3.md": "# Brevik H3 kettle manual\n\nA 1.5 litre kettle.\n\n## Error codes\n\n"
             "- E4: the limescale sensor is blocked. Descale it.\n- E7: it overheated.\n",
    "h5.md": "# Brevik H5 kettle manual\n\nA 1.7 litre kettle.\n\n## Error codes\n\n"
             "- E4: the water tank is empty. Fill it.\n- E9: the sensor failed.\n",
    "bread.txt": "Sourdough bread\n\nA sourdough loaf needs flour, water, salt and a starter.\n",
    "copy.txt": "Sourdough bread\n\nA sourdough loaf needs flour, water, salt and a starter.\n",
}


@pytest.fixture(scope="module")
def twins(tmp_path_factory, embeddings):
    folder = tmp_path_factory.mktemp("twins")
    for name, text in TWINS.items():
        (folder / name).write_text(text)
    (folder / "docs.txt").write_text("\n".join(TWINS) + "\n")
    return build_index(folder / "docs.txt", embeddings)


def sources(hits):
    return [h.doc.metadata["source"] for h in hits]


def test_terms_keep_codes_numbers_and_drop_stop_words():
    assert terms("What does E4 mean on the Brevik H3? It's 40,000 kettles, v3.10!") == [
        "e4", "mean", "brevik", "h3", "40000", "kettle", "v3.10"]
    # a question's "warranty" meets the licence's "WARRANTIES"
    assert terms("WITHOUT WARRANTIES; any warranty, copies, series") == [
        "without", "warranty", "warranty", "copy", "sery"]


def test_bm25_finds_the_exact_model_and_fusion_follows_it(twins):
    question = "What does error E4 mean on the H3?"
    keyword = twins.search(question, k=2, mode="keyword")
    assert sources(keyword)[0] == "h3.md" and keyword[0].keyword > keyword[1].keyword > 0
    hybrid = twins.search(question, k=3, mode="hybrid")
    assert sources(hybrid)[0] == "h3.md"
    assert hybrid[0].fused >= hybrid[1].fused >= hybrid[2].fused
    dense = twins.search(question, k=3, mode="dense")
    assert [h.score for h in dense] == sorted((h.score for h in dense), reverse=True)
    # reciprocal rank fusion: each hit scores 1 / (RRF_K + rank) in every ranking that holds it
    # (both rankings as deep as hybrid search reads them: 20 candidates)
    ranks = [{h.row: i for i, h in enumerate(twins.search(question, k=20, mode=m), 1)}
             for m in ("dense", "keyword")]
    for hit in hybrid:
        assert hit.fused == pytest.approx(sum(1 / (RRF_K + r[hit.row]) for r in ranks if hit.row in r))
    assert any(all(hit.row in r for r in ranks) for hit in hybrid)  # fusion combined both


def test_sections_reach_the_chunks(twins):
    errors = [c for c in twins.chunks if c.metadata["source"] == "h3.md" and "E4" in c.page_content]
    assert [c.metadata.get("section") for c in errors] == ["Error codes"]
    assert errors[0].metadata["title"] == "Brevik H3 kettle manual"
    assert not errors[0].page_content.startswith("#")
    intro = [c for c in twins.chunks if c.metadata["source"] == "h3.md" and "1.5 litre" in c.page_content]
    assert "section" not in intro[0].metadata  # the text under the title heading


def test_no_passage_under_the_cut_off_reaches_the_prompt(twins):
    policy = RetrievalPolicy(top_k=4, min_score=0.45)
    hits = retrieve(twins, "What does E4 mean on the H3 kettle?", policy)
    assert hits and all(h.score >= 0.45 for h in hits)
    assert retrieve(twins, "Who won the 1954 football world cup?", policy) == []


def test_near_duplicates_and_other_documents_are_dropped(twins):
    anything = RetrievalPolicy(top_k=4, min_score=-1.0, max_documents=0)
    bread = retrieve(twins, "What does a sourdough loaf need?", anything)
    assert sources(bread).count("bread.txt") + sources(bread).count("copy.txt") == 1  # same text
    one_document = RetrievalPolicy(top_k=4, min_score=-1.0, max_documents=1)
    hits = retrieve(twins, "What does E4 mean on the H3 kettle?", one_document)
    assert set(sources(hits)) == {"h3.md"} and len(hits) >= 2


def test_html_headings_become_sections(tmp_path: Path, embeddings):
    (tmp_path / "page.html").write_text(
        "<html><head><title>Lamp</title></head><body><main><h1>Lamp</h1><p>A desk lamp.</p>"
        "<h2>Bulbs</h2><p>It takes E14 bulbs of at most 25 watts.</p></main></body></html>")
    (tmp_path / "docs.txt").write_text("page.html\n")
    index = build_index(tmp_path / "docs.txt", embeddings)
    bulbs = [c for c in index.chunks if "E14" in c.page_content]
    assert [(c.metadata["title"], c.metadata.get("section")) for c in bulbs] == [("Lamp", "Bulbs")]


def test_a_question_naming_one_of_the_documents_gets_its_passages_only(twins):
    named = RetrievalPolicy(top_k=4, min_score=-1.0, max_documents=0, named_documents=True)
    anything = RetrievalPolicy(top_k=4, min_score=-1.0, max_documents=0)
    question = "What does error E4 mean on the Brevik H5?"
    assert {"h3.md", "h5.md"} <= set(sources(retrieve(twins, question, anything)))
    hits = retrieve(twins, question, named)
    assert set(sources(hits)) == {"h5.md"} and len(hits) >= 2  # back-filled from the H5 manual
    # naming both: both documents take turns, best passage first, the others left out
    both = sources(retrieve(twins, "Which has the longer warranty, the Brevik H3 or the H5?", named))
    assert set(both) == {"h3.md", "h5.md"} and len(both) >= 3
    assert all(a != b for a, b in zip(both, both[1:]))  # alternating
    # naming neither keeps every document
    assert sources(retrieve(twins, "which kettle shows e4 when it is empty?", named)) == \
        sources(retrieve(twins, "which kettle shows e4 when it is empty?", anything))
    # a follow-up searched with its history: the names are looked up in the user's own words
    query = "What does error E4 mean on the Brevik H3? And on the H5?"
    assert {"h3.md", "h5.md"} <= set(sources(retrieve(twins, query, named)))
    assert set(sources(retrieve(twins, query, named, question="And on the H5?"))) == {"h5.md"}
