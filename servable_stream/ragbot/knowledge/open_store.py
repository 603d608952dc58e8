"""The knowledge store KNOWLEDGE_STORE names: this machine's files, or PostgreSQL shared by
every replica. Kept apart from store.py (the contract both implement) so that the contract
imports neither of them."""
from __future__ import annotations

from langchain_core.embeddings import Embeddings

from ..settings import Settings
from .store import KnowledgeStore


def open_store(settings: Settings, embeddings: Embeddings) -> KnowledgeStore:
    """The store KNOWLEDGE_STORE names (not started)."""
    if settings.knowledge_store == "postgres":
        from .postgres.store import SharedStore  # psycopg only when chosen

        return SharedStore(settings, embeddings)
    from .local_store import LocalStore

    return LocalStore(settings, embeddings)
