"""Shared, session-scoped real components for the core tests (loaded once: imports are slow)."""
from __future__ import annotations

import pytest

from probes.knowledge import SERVABLE, rag_env, write_knowledge


@pytest.fixture(scope="session")
def kb_docs(tmp_path_factory):
    """docs.txt of the shared test knowledge base (zorblat, bakery, rivers). Do not modify."""
    return write_knowledge(tmp_path_factory.mktemp("core-kb"))


@pytest.fixture(scope="session")
def settings(kb_docs):
    from ragbot.settings import Settings

    return Settings.from_env(SERVABLE, rag_env(kb_docs, MAX_NEW_TOKENS="48", SEED="7"))


@pytest.fixture(scope="session")
def embeddings(settings):
    from ragbot.knowledge.embeddings import load_embeddings

    return load_embeddings(settings.embedding_model_dir, settings.embedding_model)


@pytest.fixture(scope="session")
def llm(settings):
    from ragbot.backends.loading import load_backend

    return load_backend(settings)


@pytest.fixture(scope="session")
def service(settings, embeddings, llm):
    from ragbot.answering.service import RagService

    svc = RagService.start(settings, embeddings=embeddings, backend=llm)
    yield svc
    svc.close()
