"""FAISS knowledge index and the holder that swaps it atomically.

Inner product over normalised vectors, so a hit's score is its cosine similarity.
The FAISS index is assembled from vectors we already hold (row i of the FAISS index =
chunk i, by construction), behind LangChain's vector store interface. Readers take
`holder.current` once per request and keep using that object even if a rebuild swaps
a new one in meanwhile.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from .index_store import DocRecord

log = logging.getLogger(__name__)
# faiss reports each SIMD build it tries at INFO; an operator needs none of that
logging.getLogger("faiss.loader").setLevel(logging.WARNING)


@dataclass(frozen=True)
class KnowledgeIndex:
    store: object | None  # langchain_community FAISS, or None for an empty knowledge base
    chunk_count: int
    document_count: int
    build_seconds: float
    records: tuple[DocRecord, ...] = field(default=(), repr=False)  # docs.txt order
    report: object | None = field(default=None, repr=False)  # ingest.RebuildReport

    @classmethod
    def empty(cls) -> "KnowledgeIndex":
        """What answers before the first build: no documents."""
        return cls(store=None, chunk_count=0, document_count=0, build_seconds=0.0)

    def search(self, query: str, k: int) -> list[tuple[Document, float]]:
        """(chunk, cosine score) pairs, best first; [] for an empty knowledge base."""
        if self.store is None:
            return []
        hits = self.store.similarity_search_with_score(query, k=k)
        return [(doc, float(score)) for doc, score in hits]


def embed_in_order(texts: list[str], embeddings: Embeddings, progress=None) -> np.ndarray:
    """Vectors for `texts`, row i for text i, float32 and L2-normalised; checks the count.

    `progress(n)` is called after each batch (e.g. a tqdm update)."""
    rows: list[list[float]] = []
    step = 64
    for start in range(0, len(texts), step):
        batch = texts[start:start + step]
        vectors = embeddings.embed_documents(batch)
        if len(vectors) != len(batch):
            raise RuntimeError(f"embeddings returned {len(vectors)} vectors for {len(batch)} texts")
        rows += vectors
        if progress:
            progress(len(batch))
    array = np.asarray(rows, dtype=np.float32).reshape(len(texts), -1) if rows else None
    if array is None:
        return np.zeros((0, 0), dtype=np.float32)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return array / np.maximum(norms, 1e-12)


def index_from_records(records: list[DocRecord], embeddings: Embeddings, started: float,
                       report=None) -> KnowledgeIndex:
    """A KnowledgeIndex over `records` in order; chunk i is FAISS row i."""
    chunks = [c for r in records for c in r.chunks]
    store = None
    if chunks:
        import faiss
        from langchain_community.docstore.in_memory import InMemoryDocstore
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy

        vectors = np.ascontiguousarray(np.concatenate([r.vectors for r in records]), dtype=np.float32)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        ids = [str(i) for i in range(len(chunks))]
        store = FAISS(
            embedding_function=embeddings, index=flat,
            docstore=InMemoryDocstore(dict(zip(ids, chunks))),
            index_to_docstore_id=dict(enumerate(ids)),
            distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT,
        )
    return KnowledgeIndex(store, len(chunks), len(records), time.monotonic() - started,
                          tuple(records), report)


class IndexHolder:
    """The current index; `swap` replaces the whole object under a lock."""

    def __init__(self, index: KnowledgeIndex):
        self._lock = threading.Lock()
        self._current = index

    @property
    def current(self) -> KnowledgeIndex:
        return self._current

    def swap(self, index: KnowledgeIndex) -> KnowledgeIndex:
        with self._lock:
            old, self._current = self._current, index
        return old
