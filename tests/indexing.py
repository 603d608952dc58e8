"""The one indexing path (knowledge.ingest.Indexer) with test-friendly defaults."""
from __future__ import annotations

from pathlib import Path


def make_indexer(docs: Path, embeddings, *, policy=None, chunk_size: int = 1000, chunk_overlap: int = 200,
                 index_dir: Path | None = None, embedding_model: str = "all-MiniLM-L6-v2"):
    from ragbot.knowledge.fetching import FetchPolicy
    from ragbot.knowledge.ingest import Indexer
    from ragbot.knowledge.local_store import LocalRecords

    return Indexer(docs, embeddings, embedding_model=embedding_model, chunk_size=chunk_size,
                   chunk_overlap=chunk_overlap, policy=policy or FetchPolicy(),
                   records=LocalRecords(index_dir))


def build_index(docs: Path, embeddings, **kw):
    """A KnowledgeIndex of docs.txt as it is now (no persistence)."""
    return make_indexer(docs, embeddings, **kw).rebuild()
