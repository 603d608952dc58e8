"""Ingestion through Indexer: formats, failures, the SSRF guard, vector order, incremental
re-embedding and the persisted index (real all-MiniLM-L6-v2; URLs on 127.0.0.1 only)."""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np
import pytest
from ragbot.knowledge.documents import context_text
from ragbot.knowledge.fetching import FetchPolicy
from ragbot.knowledge.ingest import Indexer

from tests.knowledge.documents.test_parsing import make_pdf
from tests.indexing import make_indexer

PACKAGE = Path(__file__).resolve().parents[3] / "servable_stream" / "ragbot"
LOCAL_OK = FetchPolicy(allow_private=True, timeout=5)

HTML = (b"<html><head><title>Cape Tindra lighthouse</title></head><body><nav>Home | About</nav>"
        b"<main><h1>Cape Tindra lighthouse</h1><p>The Brassleaf lighthouse on Cape Tindra was "
        b"built in 1887 by stonemasons from the valley and still guides fishing boats.</p></main>"
        b"<footer>copyright</footer></body></html>")


def indexer(docs: Path, emb, policy=LOCAL_OK, index_dir=None, **kw) -> Indexer:
    return make_indexer(docs, emb, policy=policy, index_dir=index_dir, **kw)


def write(folder: Path, files: dict) -> None:
    for name, body in files.items():
        (folder / name).write_bytes(body if isinstance(body, bytes) else body.encode())


def test_every_format_indexed_and_the_right_document_retrieved_first(tmp_path, doc_server, embeddings):
    doc_server.files["/tindra.html"] = (HTML, "text/html; charset=utf-8")
    doc_server.files["/report"] = (make_pdf("Annual report of the Glimmer Mining Company",
                                            "The Glimmer mine produced forty tonnes of copper ore last year",
                                            title="Glimmer report"), "application/pdf")
    write(tmp_path, {
        "kelp.txt": "Sea kelp farming in Orvane Bay\n\nDivers plant kelp ropes every autumn and "
                    "harvest the green kelp in late spring.",
        "zorblat.md": "# Zorblat fruit\n\nThe zorblat is a purple fruit grown on the island of Kelvara.",
        "bees.pdf": make_pdf("Beekeeping in Hollow Vale: the hives give heather honey in August"),
    })
    docs = tmp_path / "docs.txt"
    docs.write_text(f"# all formats\nkelp.txt\n\nzorblat.md\n{doc_server.url('/tindra.html')}\n"
                    f"{doc_server.url('/report')}\n{tmp_path / 'bees.pdf'}\n")
    index = indexer(docs, embeddings).rebuild()
    assert index.report.skipped == [] and index.document_count == 5
    cases = [
        ("When do divers harvest kelp in Orvane Bay?", "kelp.txt", None),
        ("What colour is the zorblat fruit?", "zorblat.md", None),
        ("When was the lighthouse on Cape Tindra built?", doc_server.url("/tindra.html"), None),
        ("How much copper ore did the Glimmer mine produce?", doc_server.url("/report"), 2),
        ("When do the hives in Hollow Vale give honey?", str(tmp_path / "bees.pdf"), 1),
    ]
    for question, source, page in cases:
        doc, score, *_ = index.search(question, k=3)[0]
        assert doc.metadata["source"] == source, question
        assert doc.metadata.get("page") == page and 0 < score <= 1.0001
    html_chunk = index.search("lighthouse", k=1)[0][0]
    assert html_chunk.metadata["title"] == "Cape Tindra lighthouse"
    assert "Home | About" not in html_chunk.page_content and "copyright" not in html_chunk.page_content


def test_failures_are_skipped_with_reasons_and_the_rest_indexed(tmp_path, doc_server, embeddings, caplog):
    doc_server.files["/big.txt"] = (b"word " * 1000, "text/plain")
    doc_server.files["/slow.txt"] = (b"too late", "text/plain")
    write(tmp_path, {"good.txt": "The Quantum Bakery in Millbrook opens at seven.",
                     "broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage",
                     "image.png": b"\x89PNG\r\n\x1a\n"})
    docs = tmp_path / "docs.txt"
    entries = {doc_server.url("/gone.txt"): "404", doc_server.url("/slow.txt"): "timed out",
               doc_server.url("/big.txt"): "limit", "broken.pdf": "PDF", "image.png": "unsupported",
               "missing.md": "not found"}
    docs.write_text("good.txt\n" + "\n".join(entries) + "\n")
    policy = FetchPolicy(allow_private=True, timeout=0.5, max_bytes=2000)
    with caplog.at_level(logging.WARNING):
        index = indexer(docs, embeddings, policy).rebuild()
    assert index.document_count == 1 and index.report.ok
    assert [e for e, _ in index.report.skipped] == list(entries)
    for (entry, reason), expected in zip(index.report.skipped, entries.values()):
        assert expected in reason, (entry, reason)
        assert entry in caplog.text
    assert index.search("When does the bakery open?", k=1)[0][0].metadata["source"] == "good.txt"


@pytest.mark.parametrize("allow_private", [False, True])
def test_ssrf_guard_refuses_loopback_private_and_metadata(tmp_path, doc_server, embeddings, allow_private):
    doc_server.files["/x.txt"] = (b"local secret", "text/plain")
    port = doc_server.port
    refused = ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest",
               "http://100.100.100.200/x"]
    local = [doc_server.url("/x.txt"), f"http://localhost:{port}/x.txt"]
    if not allow_private:  # with it, these would really be contacted: not from a test
        local += [f"http://[::ffff:127.0.0.1]:{port}/x.txt", "http://10.1.2.3/x.txt", "http://192.168.1.1/x.txt"]
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(local + refused) + "\n")
    report = indexer(docs, embeddings, FetchPolicy(allow_private=allow_private, timeout=0.5)).rebuild().report
    reasons = dict(report.skipped)
    for url in refused:
        assert "metadata" in reasons[url]
    if not allow_private:
        assert set(reasons) == set(local + refused)
        assert all("DOCS_ALLOW_PRIVATE_URLS" in reasons[u] for u in local)
        assert doc_server.requests == []  # refused before any connection
    else:
        assert report.documents >= 1 and "/x.txt" in doc_server.requests


def test_vectors_stay_in_chunk_order_for_very_different_lengths(tmp_path, embeddings):
    rng = np.random.default_rng(3)
    words = "alpha river bakery purple island copper honey lighthouse kelp winter".split()
    lengths = rng.permutation([1, 2, 3, 110, 5, 90, 1, 70] * 10)  # 80 chunks, > one batch
    names = []
    for i, n in enumerate(lengths):
        (tmp_path / f"d{i}.txt").write_text(f"doc{i} " + " ".join(rng.choice(words, n)))
        names.append(f"d{i}.txt")
    (tmp_path / "docs.txt").write_text("\n".join(names))
    index = indexer(tmp_path / "docs.txt", embeddings).rebuild()
    faiss_index = index.faiss_index
    assert index.chunk_count == 80 == faiss_index.ntotal
    stored = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    for row in range(0, 80):
        chunk = index.chunks[row]
        assert chunk.metadata["source"] == f"d{row}.txt"
        alone = np.asarray(embeddings.embed_query(context_text(chunk)))  # what was embedded
        assert float(stored[row] @ alone) > 0.999, row
    assert np.allclose(np.linalg.norm(stored, axis=1), 1, atol=1e-4)


def _kb(folder: Path) -> Path:
    write(folder, {
        "a.txt": "The zorblat is a purple fruit grown on the island of Kelvara.",
        "b.txt": "\n\n".join(f"Paragraph {i} about the Silverrun river that freezes in winter. " * 8
                             for i in range(6)),
        "c.txt": "The Quantum Bakery in Millbrook opens at seven in the morning.",
    })
    docs = folder / "docs.txt"
    docs.write_text("a.txt\nb.txt\nc.txt\n")
    return docs


def test_only_new_and_changed_documents_are_embedded(tmp_path, counting, doc_server):
    doc_server.files["/u.txt"] = (b"Copper ore from the Glimmer mine is shipped by rail.", "text/plain")
    docs = _kb(tmp_path)
    docs.write_text(docs.read_text() + doc_server.url("/u.txt") + "\n")
    ix = indexer(docs, counting)
    first = ix.rebuild()
    assert counting.embedded == first.chunk_count and first.report.added == ["a.txt", "b.txt", "c.txt", doc_server.url("/u.txt")]
    b_chunks = first.report.chunks - 3
    assert b_chunks > 2

    counting.embedded = 0
    (tmp_path / "b.txt").write_text("The Silverrun river is now a canal.")
    (tmp_path / "d.txt").write_text("Honey from Hollow Vale is harvested in August.")
    docs.write_text(f"a.txt\nb.txt\nd.txt\n{doc_server.url('/u.txt')}\n")
    second = ix.rebuild()
    r = second.report
    assert (r.added, r.changed, r.removed) == (["d.txt"], ["b.txt"], ["c.txt"])
    assert r.unchanged == ["a.txt", doc_server.url("/u.txt")] and r.embedded_chunks == 2
    assert counting.embedded == 2  # one chunk each for b and d; a and the URL reused
    assert doc_server.requests.count("/u.txt") == 2  # URLs are fetched to learn their hash
    assert second.search("When is honey harvested?", k=1)[0][0].metadata["source"] == "d.txt"
    assert second.search("purple fruit", k=1)[0][0].metadata["source"] == "a.txt"
    assert [c.metadata["source"] for c in second.chunks] == ["a.txt", "b.txt", "d.txt", doc_server.url("/u.txt")]


def test_restart_reuses_the_persisted_index_without_embedding(tmp_path, counting):
    docs, store = _kb(tmp_path), tmp_path / "idx"
    first = indexer(docs, counting, index_dir=store).rebuild()
    assert sorted(p.name for p in store.iterdir()) == ["chunks.json", "manifest.json", "vectors.npy"]
    counting.embedded = 0
    again = indexer(docs, counting, index_dir=store).rebuild()  # a new process, same INDEX_DIR
    assert counting.embedded == 0 and again.report.unchanged == ["a.txt", "b.txt", "c.txt"]
    assert again.chunk_count == first.chunk_count
    assert again.search("Which river freezes?", k=1)[0][0].metadata["source"] == "b.txt"
    # the keyword side came back from disk too: no chunk was re-tokenised, and BM25 scores
    assert [t for r in again.records for t in r.terms] == [t for r in first.records for t in r.terms]
    assert again.search("Which river freezes?", k=1, mode="keyword")[0].doc.metadata["source"] == "b.txt"
    manifest = json.loads((store / "manifest.json").read_text())
    # keyed by the model and how its weights are stored (download_embedding_model.py: INT8)
    assert manifest["dimension"] == 384 and manifest["embedding_model"] == "all-MiniLM-L6-v2~int8_asym"
    assert [d["entry"] for d in manifest["documents"]] == ["a.txt", "b.txt", "c.txt"]
    # other chunk settings: the stored vectors belong to other chunks, so everything is re-embedded
    other = indexer(docs, counting, index_dir=store, chunk_size=300, chunk_overlap=50).rebuild()
    assert counting.embedded == other.chunk_count > first.chunk_count
    # the same model with its weights stored otherwise (FP32) gives other vectors: re-embedded
    from tests.knowledge.index.conftest import CountingEmbeddings

    fp32 = CountingEmbeddings(counting.inner, weights=None)
    again = indexer(docs, fp32, index_dir=store, chunk_size=300, chunk_overlap=50).rebuild()
    assert fp32.embedded == again.chunk_count



def test_terms_are_stored_as_one_string_per_chunk_and_older_lists_still_load(tmp_path, counting):
    """One JSON string per chunk, not a list of strings: 10k chunks' lists parsed into 1.6M
    transient str objects (a 141 MB peak kept as RSS). Files written before still load."""
    import hashlib

    docs, store = _kb(tmp_path), tmp_path / "idx"
    first = indexer(docs, counting, index_dir=store).rebuild()
    stored = json.loads((store / "chunks.json").read_text())
    assert all(isinstance(c["terms"], str) for c in stored)
    assert [c["terms"].split() for c in stored] == [t for r in first.records for t in r.terms]
    for c in stored:  # the format before: a list of terms
        c["terms"] = c["terms"].split()
    raw = json.dumps(stored).encode()
    (store / "chunks.json").write_bytes(raw)
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["files"]["chunks.json"] = hashlib.sha256(raw).hexdigest()
    (store / "manifest.json").write_text(json.dumps(manifest))
    counting.embedded = 0
    again = indexer(docs, counting, index_dir=store).rebuild()
    assert counting.embedded == 0 and again.report.unchanged == ["a.txt", "b.txt", "c.txt"]
    assert [t for r in again.records for t in r.terms] == [t for r in first.records for t in r.terms]
    assert again.search("Which river freezes?", k=1, mode="keyword")[0].doc.metadata["source"] == "b.txt"

def _flip_vector_byte(d: Path):
    data = bytearray((d / "vectors.npy").read_bytes())
    data[-5] ^= 0x40
    (d / "vectors.npy").write_bytes(bytes(data))


def _terms_not_strings(d: Path):
    """A chunk's BM25 terms replaced by something else, hash updated: structural check."""
    import hashlib
    chunks = json.loads((d / "chunks.json").read_text())
    chunks[0]["terms"] = [{"__class__": "os.system"}]
    raw = json.dumps(chunks).encode()
    (d / "chunks.json").write_bytes(raw)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["files"]["chunks.json"] = hashlib.sha256(raw).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))


def _consistent_but_wrong_chunks(d: Path):
    """Rewrite chunks.json AND its hash in the manifest: caught by the structural checks."""
    import hashlib
    chunks = json.loads((d / "chunks.json").read_text())
    chunks[0]["metadata"]["source"] = "evil.txt"
    raw = json.dumps(chunks).encode()
    (d / "chunks.json").write_bytes(raw)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["files"]["chunks.json"] = hashlib.sha256(raw).hexdigest()
    (d / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("tamper", [
    _flip_vector_byte,
    _consistent_but_wrong_chunks,
    _terms_not_strings,
    lambda d: (d / "manifest.json").write_text("{not json"),
    lambda d: (d / "manifest.json").write_text(json.dumps({"format": "ragbot-index", "version": 1})),
    lambda d: (d / "vectors.npy").write_bytes(b"\x80\x04\x95pickled"),
], ids=["vector-bytes", "chunks-rewritten", "terms-rewritten", "manifest-garbage", "manifest-schema",
        "pickle-bytes"])
def test_tampered_index_is_rebuilt_with_a_log_line(tmp_path, counting, caplog, tamper):
    docs, store = _kb(tmp_path), tmp_path / "idx"
    first = indexer(docs, counting, index_dir=store).rebuild()
    tamper(store)
    counting.embedded = 0
    with caplog.at_level(logging.WARNING, logger="ragbot.knowledge.ingest"):
        again = indexer(docs, counting, index_dir=store).rebuild()
    assert "failed validation" in caplog.text and "rebuilding" in caplog.text
    assert counting.embedded == first.chunk_count and again.report.added == ["a.txt", "b.txt", "c.txt"]
    counting.embedded = 0  # and what it wrote back is valid again
    indexer(docs, counting, index_dir=store).rebuild()
    assert counting.embedded == 0


def test_unwritable_index_dir_runs_without_persistence(tmp_path, embeddings, caplog):
    docs = _kb(tmp_path)
    (tmp_path / "file").write_text("x")
    with caplog.at_level(logging.WARNING):
        index = indexer(docs, embeddings, index_dir=tmp_path / "file" / "idx").rebuild()
    assert "not writable" in caplog.text and index.document_count == 3


def test_empty_or_missing_docs_is_an_empty_index(tmp_path, counting):
    index = indexer(tmp_path / "nope.txt", counting, index_dir=tmp_path / "idx").rebuild()
    assert index.document_count == index.chunk_count == 0 and index.search("x", k=3) == []
    assert counting.calls == 0


def test_the_package_never_unpickles():
    forbidden = re.compile(r"import pickle|pickle\.loads?|allow_dangerous_deserialization|load_local"
                           r"|allow_pickle\s*=\s*True|import (dill|joblib|cloudpickle)")
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert not forbidden.search(text), path
        for line in text.splitlines():
            if re.search(r"\b(np|numpy)\.load\(", line):
                assert "allow_pickle=False" in line, (path, line)
