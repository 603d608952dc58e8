import threading
import time

import pytest
from ragbot.errors import ModelMissingError
from ragbot.knowledge.documents import read_entries
from ragbot.knowledge.embeddings import load_embeddings
from ragbot.knowledge.index import IndexHolder

from tests.indexing import build_index


def chunks_of(index):
    return [c for r in index.records for c in r.chunks]


def test_embeddings_keep_input_order(embeddings):
    texts = ["a short one", "a considerably longer sentence about purple zorblat fruit and juice", "mid size text here"]
    batch = embeddings.embed_documents(texts)
    for text, vector in zip(texts, batch):
        alone = embeddings.embed_query(text)
        assert max(abs(a - b) for a, b in zip(vector, alone)) < 1e-4
    assert abs(sum(v * v for v in batch[0]) - 1.0) < 1e-4  # normalised


def test_missing_embedding_folder_names_the_script(tmp_path):
    with pytest.raises(ModelMissingError, match="download_embedding_model.py --model all-mpnet-base-v2"):
        load_embeddings(tmp_path / "nope", "all-mpnet-base-v2")


def test_docs_file_parsing(tmp_path, embeddings):
    (tmp_path / "a.md").write_text("\n\n## Alpha title\nbody text\n")
    (tmp_path / "b.txt").write_text("first line is the title\nmore")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("")
    docs = tmp_path / "docs.txt"
    docs.write_text(f"# comment\n\na.md\n  {tmp_path / 'b.txt'}  \nmissing.txt\nhttps://127.0.0.1:9/x.txt\nimage.png\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert read_entries(docs) == ["a.md", str(tmp_path / "b.txt"), "missing.txt", "https://127.0.0.1:9/x.txt", "image.png"]
    index = build_index(docs, embeddings, chunk_overlap=0)
    assert index.document_count == 2
    assert [(c.metadata["source"], c.metadata["title"]) for c in chunks_of(index)] == [
        ("a.md", "Alpha title"),
        (str(tmp_path / "b.txt"), "first line is the title"),
    ]
    assert [entry for entry, _ in index.report.skipped] == ["missing.txt", "https://127.0.0.1:9/x.txt", "image.png"]


def test_long_document_is_split_with_overlap(tmp_path, embeddings):
    (tmp_path / "long.txt").write_text(" ".join(f"word{i}" for i in range(400)))
    (tmp_path / "docs.txt").write_text("long.txt\n")
    chunks = chunks_of(build_index(tmp_path / "docs.txt", embeddings, chunk_size=200, chunk_overlap=50))
    assert len(chunks) > 5 and all(len(c.page_content) <= 200 for c in chunks)
    assert chunks[0].page_content.split()[-1] in chunks[1].page_content  # overlap


@pytest.mark.parametrize("content", [None, "", "# only a comment\n\n"])
def test_missing_or_empty_docs_file_is_an_empty_knowledge_base(tmp_path, embeddings, content):
    docs = tmp_path / "docs.txt"
    if content is not None:
        docs.write_text(content)
    index = build_index(docs, embeddings)
    assert index.chunk_count == 0 and index.search("anything", k=4) == []


@pytest.mark.parametrize(
    "question, source",
    [
        ("What colour is the zorblat fruit?", "zorblat.md"),
        ("When does the bakery in Millbrook open?", "quantum_bakery.txt"),
        ("Which river freezes in winter?", "rivers.md"),
    ],
)
def test_search_ranks_the_right_document_first(kb_docs, embeddings, question, source):
    index = build_index(kb_docs, embeddings)
    hits = index.search(question, k=3)
    assert hits[0][0].metadata["source"] == source
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1.0001


def test_holder_swap_under_concurrent_readers(kb_docs, embeddings, tmp_path):
    one = tmp_path / "docs.txt"
    one.write_text(f"{kb_docs.parent / 'zorblat.md'}\n")
    indexes = [build_index(kb_docs, embeddings), build_index(one, embeddings)]
    assert (indexes[0].chunk_count, indexes[1].chunk_count) == (3, 1)
    holder = IndexHolder(indexes[0])
    failures, searches, stop = [], [0], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                index = holder.current
                hits = index.search("zorblat", k=3)
                assert len(hits) == index.chunk_count
                searches[0] += 1
            except Exception as exc:  # pragma: no cover - reported below
                failures.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(40):
        holder.swap(indexes[i % 2])
        time.sleep(0.005)
    stop.set()
    for t in threads:
        t.join()
    assert failures == [] and searches[0] > 10
