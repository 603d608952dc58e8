"""Content is embedded once: new content whose sha256 the store already holds (a renamed or
copied file) takes the stored chunks, vectors and terms instead of being embedded again."""
from __future__ import annotations

from tests.indexing import make_indexer


def test_a_renamed_file_is_not_embedded_again(tmp_path, counting):
    (tmp_path / "kelp.txt").write_text("Divers in Orvane Bay harvest green sea kelp in late spring.")
    docs = tmp_path / "docs.txt"
    docs.write_text("kelp.txt\n")
    indexer = make_indexer(docs, counting, index_dir=tmp_path / "index")
    first = indexer.rebuild()
    assert counting.embedded == 1
    (tmp_path / "kelp.txt").rename(tmp_path / "sea-kelp.txt")
    docs.write_text("sea-kelp.txt\n")
    again = make_indexer(docs, counting, index_dir=tmp_path / "index").rebuild()  # a new process
    report = again.report
    assert counting.embedded == 1
    assert (report.added, report.removed, report.reused, report.embedded_chunks) == (
        ["sea-kelp.txt"], ["kelp.txt"], ["sea-kelp.txt"], 0)
    assert again.chunks[0].metadata["source"] == "sea-kelp.txt"
    assert (again.vectors == first.vectors).all()
    assert again.search("kelp harvest", 1, "keyword")[0].keyword > 0
    assert "1 documents' chunks reused" in report.summary()
