"""FAISS knowledge index and the holder that swaps it atomically.

Inner product over normalised vectors, so a hit's score is its cosine similarity.
Readers take `holder.current` once per request and keep using that object even if a
rebuild swaps a new one in meanwhile.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from .documents import load_documents

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnowledgeIndex:
    store: object | None  # langchain_community FAISS, or None for an empty knowledge base
    chunk_count: int
    document_count: int
    build_seconds: float

    def search(self, query: str, k: int) -> list[tuple[Document, float]]:
        """(chunk, cosine score) pairs, best first; [] for an empty knowledge base."""
        if self.store is None:
            return []
        hits = self.store.similarity_search_with_score(query, k=k)
        return [(doc, float(score)) for doc, score in hits]


def build_index(chunks: list[Document], embeddings: Embeddings, document_count: int) -> KnowledgeIndex:
    started = time.monotonic()
    store = None
    if chunks:
        from langchain_community.vectorstores import FAISS
        from langchain_community.vectorstores.utils import DistanceStrategy

        store = FAISS.from_documents(
            chunks, embeddings, distance_strategy=DistanceStrategy.MAX_INNER_PRODUCT
        )
    elapsed = time.monotonic() - started
    log.info(
        "index built with %d chunks from %d documents in %.2f s", len(chunks), document_count, elapsed
    )
    return KnowledgeIndex(store, len(chunks), document_count, elapsed)


def build_index_from_docs(
    docs_file: Path, embeddings: Embeddings, chunk_size: int, chunk_overlap: int
) -> KnowledgeIndex:
    loaded = load_documents(docs_file, chunk_size, chunk_overlap)
    return build_index(loaded.chunks, embeddings, loaded.document_count)


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
