"""The knowledge index: FAISS over the chunk vectors plus BM25 over their terms, fused by
reciprocal rank; and the holder that swaps a whole index atomically.

Inner product over normalised vectors, so a hit's `score` is its cosine similarity (what
the relevance cut-off compares). Row i of the FAISS index, of the BM25 matrix and of
`chunks` is chunk i, by construction. Readers take `holder.current` once per request and
keep using that object even if a rebuild swaps a new one in meanwhile.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ..settings import RETRIEVAL_MODES
from .index_store import DocRecord
from .keywords import KeywordIndex

log = logging.getLogger(__name__)
# faiss reports each SIMD build it tries at INFO; an operator needs none of that
logging.getLogger("faiss.loader").setLevel(logging.WARNING)

MODES = RETRIEVAL_MODES
RRF_K = 60  # reciprocal rank fusion: 1 / (RRF_K + rank), as in Cormack et al. 2009


class Hit(NamedTuple):
    """One retrieved chunk: `score` is its cosine similarity to the query."""

    doc: Document
    score: float
    keyword: float = 0.0  # BM25 score
    fused: float = 0.0  # reciprocal-rank fusion of the dense and keyword ranks
    row: int = -1


@dataclass(frozen=True, eq=False)
class KnowledgeIndex:
    chunks: tuple[Document, ...]
    vectors: np.ndarray  # float32 (chunks, dimension), L2-normalised
    embeddings: Embeddings | None
    document_count: int
    build_seconds: float
    faiss_index: object | None = field(default=None, repr=False)
    keywords: KeywordIndex | None = field(default=None, repr=False)
    records: tuple[DocRecord, ...] = field(default=(), repr=False)  # docs.txt order
    report: object | None = field(default=None, repr=False)  # ingest.RebuildReport
    version: object | None = None  # store.PublishedVersion it was read from or published as

    @classmethod
    def empty(cls) -> "KnowledgeIndex":
        """What answers before the first build: no documents."""
        return cls((), np.zeros((0, 0), dtype=np.float32), None, 0, 0.0)

    @property
    def chunk_count(self) -> int:
        return len(self.chunks)

    def search(self, query: str, k: int, mode: str = "hybrid", candidates: int = 20) -> list[Hit]:
        """The `k` best chunks, best first: by fused rank ("hybrid"), cosine ("dense") or
        BM25 ("keyword"); each list contributes its `candidates` best. [] when empty."""
        if not self.chunks:
            return []
        q = np.asarray(self.embeddings.embed_query(query), dtype=np.float32)
        q /= max(float(np.linalg.norm(q)), 1e-12)
        n = min(max(candidates, k), len(self.chunks))
        _, rows = self.faiss_index.search(q.reshape(1, -1), n)
        dense_rows = [int(r) for r in rows[0] if r >= 0]
        keyword = self.keywords.scores(query)
        keyword_rows = [int(r) for r in np.argsort(-keyword, kind="stable")[:n] if keyword[r] > 0]
        if mode == "dense":
            ranked = dense_rows
            fused = {r: 1.0 / (RRF_K + i) for i, r in enumerate(ranked, 1)}
        elif mode == "keyword":
            ranked = keyword_rows
            fused = {r: 1.0 / (RRF_K + i) for i, r in enumerate(ranked, 1)}
        else:
            fused: dict[int, float] = {}
            for ranking in (dense_rows, keyword_rows):
                for rank, r in enumerate(ranking, start=1):
                    fused[r] = fused.get(r, 0.0) + 1.0 / (RRF_K + rank)
            # equal fused ranks: the exact-term match first (names, codes, versions)
            ranked = sorted(fused, key=lambda r: (-fused[r], -keyword[r]))
        return [Hit(self.chunks[r], float(self.vectors[r] @ q), float(keyword[r]), fused[r], r)
                for r in ranked[:k]]

    def similarity(self, a: Hit, b: Hit) -> float:
        """Cosine similarity of two hits' chunks (near-duplicate detection)."""
        return float(self.vectors[a.row] @ self.vectors[b.row])


def embed_in_order(texts: list[str], embeddings: Embeddings, progress=None) -> np.ndarray:
    """Vectors for `texts`, row i for text i, float32 and L2-normalised; checks the count.

    `progress(n)` is called after each batch (e.g. a tqdm update)."""
    rows: list[list[float]] = []
    step = 64
    try:
        for start in range(0, len(texts), step):
            batch = texts[start:start + step]
            vectors = embeddings.embed_documents(batch)
            if len(vectors) != len(batch):
                raise RuntimeError(f"embeddings returned {len(vectors)} vectors for {len(batch)} texts")
            rows += vectors
            if progress:
                progress(len(batch))
    finally:
        release = getattr(embeddings, "release_memory", None)
        if release is not None and texts:
            release()  # the batches' activations: queries need a fraction of them
    array = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1) if rows else None
    if array is None:
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def index_from_records(records: list[DocRecord], embeddings: Embeddings, started: float,
                       report=None) -> KnowledgeIndex:
    """A KnowledgeIndex over `records` in order; chunk i is row i everywhere."""
    chunks = tuple(c for r in records for c in r.chunks)
    if not chunks:
        return KnowledgeIndex((), np.zeros((0, 0), dtype=np.float32), embeddings, len(records),
                              time.monotonic() - started, records=tuple(records), report=report)
    import faiss

    # one query against ~10k vectors is far too little work to share out: with FAISS's OpenMP
    # threads on cores the LLM also uses, a search took 14 ms (p95 37 ms) instead of 0.45 ms
    # (p95 4.4 ms) on one thread (benchmarks/README.md, "Shared knowledge base")
    faiss.omp_set_num_threads(1)
    vectors = np.ascontiguousarray(np.concatenate([r.vectors for r in records]), dtype=np.float32)
    start = 0
    for r in records:  # one copy of the vectors, not one per record plus the concatenation
        r.vectors, start = vectors[start:start + len(r.chunks)], start + len(r.chunks)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    keywords = KeywordIndex([t for r in records for t in r.terms])
    return KnowledgeIndex(chunks, vectors, embeddings, len(records), time.monotonic() - started,
                          flat, keywords, tuple(records), report)


class IndexHolder:
    """The current index; `swap` replaces the whole object under a lock, then tells the
    listeners (e.g. metrics) what answers now."""

    def __init__(self, index: KnowledgeIndex):
        self._lock = threading.Lock()
        self._current = index
        self.listeners: list = []

    @property
    def current(self) -> KnowledgeIndex:
        return self._current

    def swap(self, index: KnowledgeIndex) -> KnowledgeIndex:
        with self._lock:
            old, self._current = self._current, index
        for listener in list(self.listeners):
            try:
                listener(index)
            except Exception:
                log.exception("index swap listener failed")
        return old
