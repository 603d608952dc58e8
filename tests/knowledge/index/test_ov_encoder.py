"""The embeddings served by the OpenVINO runtime alone (ov_encoder.py) equal
sentence-transformers' on the eval corpus's chunks, in input order."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from probes.models import minilm_dir

EVAL_CORPUS = Path(__file__).resolve().parents[3] / "eval" / "corpus"


def eval_chunks() -> list[str]:
    from ragbot.knowledge.documents import RawDocument, context_text, make_splitter, split_raw

    splitter, texts = make_splitter(1000, 200), []
    for path in sorted(EVAL_CORPUS.iterdir()):
        content = path.read_bytes()
        raw = RawDocument(path.name, str(path), content, None, "")
        texts += [context_text(c) for c in split_raw(raw, splitter)]
    return texts


@pytest.fixture(scope="module")
def torch_vectors():
    from sentence_transformers import SentenceTransformer

    texts = eval_chunks() + ["When does the bakery open?", "zorblat"]
    model = SentenceTransformer(str(minilm_dir()), backend="openvino", device="cpu")
    return texts, model.encode(texts, batch_size=32, normalize_embeddings=True)


def test_openvino_runtime_vectors_equal_sentence_transformers(torch_vectors):
    from ragbot.knowledge.embeddings import OpenVINOEmbeddings
    from ragbot.knowledge.ov_encoder import OpenVINOEncoder

    texts, expected = torch_vectors
    assert len(texts) > 40
    embeddings = OpenVINOEmbeddings(OpenVINOEncoder(minilm_dir()))
    got = np.array(embeddings.embed_documents(texts))
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() >= 0.999, f"lowest cosine {cosine.min():.5f} at {texts[int(cosine.argmin())][:60]!r}"
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    query = np.array(embeddings.embed_query(texts[-2]))
    assert float(query @ expected[-2]) >= 0.999
    assert embeddings.dimension == 384


def test_after_indexing_the_batches_memory_is_given_back_and_queries_still_embed(torch_vectors):
    from ragbot.knowledge.embeddings import OpenVINOEmbeddings
    from ragbot.knowledge.index import embed_in_order
    from ragbot.knowledge.ov_encoder import OpenVINOEncoder

    texts, expected = torch_vectors
    encoder = OpenVINOEncoder(minilm_dir())
    released = []
    encoder.release_memory = lambda release=encoder.release_memory: (released.append(1), release())
    embeddings = OpenVINOEmbeddings(encoder)
    vectors = embed_in_order(texts, embeddings)
    assert released == [1]  # once per index build, not per batch
    assert float(vectors[0] @ expected[0]) >= 0.999
    assert float(np.array(embeddings.embed_query(texts[-2])) @ expected[-2]) >= 0.999


def test_a_folder_without_the_int8_ir_names_the_command_that_writes_it(tmp_path):
    import shutil

    from ragbot.errors import ModelMissingError
    from ragbot.knowledge.embeddings import load_embeddings

    folder = tmp_path / "minilm"
    shutil.copytree(minilm_dir(), folder, ignore=shutil.ignore_patterns("*int8*"))
    with pytest.raises(ModelMissingError, match="--int8"):
        load_embeddings(folder, "all-MiniLM-L6-v2", "int8")


def test_int8_embeddings_serve_close_to_fp32_and_get_their_own_index(torch_vectors):
    from ragbot.knowledge.embeddings import load_embeddings
    from ragbot.settings import Settings

    from probes.knowledge import SERVABLE
    from probes.models import minilm_int8_dir

    texts, expected = torch_vectors
    int8 = load_embeddings(minilm_int8_dir(), "all-MiniLM-L6-v2", "int8")
    got = np.array(int8.embed_documents(texts))
    cosine = (got * expected).sum(axis=1)
    assert cosine.min() >= 0.95 and cosine.mean() >= 0.98, (cosine.min(), cosine.mean())
    settings = Settings.from_env(SERVABLE, {"EMBEDDING_MODEL": "all-MiniLM-L6-v2", "EMBEDDING_PRECISION": "int8"})
    assert settings.embedding_index_name == "all-MiniLM-L6-v2+int8"
    assert settings.index_dir.name == "all-MiniLM-L6-v2+int8"
