"""Shared fixtures: the repo on sys.path, the servable's real components loaded once (settings,
embeddings, LLM, service over the shared test knowledge base), ONE started RAG host for the
slow end-to-end tests, one PostgreSQL; and the tiers (tests/README.md): `model`, `host` and
`browser` marks, set here from the fixtures a test uses and by modules that need more."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
for p in (REPO, REPO / "servable_stream"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from probes.knowledge import SERVABLE, rag_env, write_knowledge  # noqa: E402

# Fixtures that load a model / start a server process: a test using one (directly or through
# another fixture) gets the mark. A test that does so inline is marked by its module.
MODEL_FIXTURES = {"embeddings", "llm", "genai_llm", "optimum_llm", "counting", "torch_vectors",
                  "compressed_models", "exported", "pair", "backends", "answers", "servable"}
HOST_FIXTURES = {"rag_host", "chat_host", "fixture_host", "owui_host", "echo_host", "paths_host",
                 "main_host", "tight_host", "real_host", "slow_rag_host", "genai_host",
                 "rag_page_host", "empty_kb_host", "replicas", "hosts", "postgres", "page_url",
                 "pyovms_so"}
BROWSER_FIXTURES = {"browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        for mark, fixtures in (("model", MODEL_FIXTURES), ("host", HOST_FIXTURES),
                               ("browser", BROWSER_FIXTURES)):
            if used & fixtures:
                item.add_marker(mark)


@pytest.fixture(scope="session")
def rag_host(tmp_path_factory):
    """The real host serving servable_stream/ (tiny-random + all-MiniLM-L6-v2), shared by e2e tests."""
    from probes.host import start_host

    docs = write_knowledge(tmp_path_factory.mktemp("kb"))
    host = start_host(SERVABLE / "config.json", env=rag_env(docs))
    try:
        host.wait_ready(model="python_model", timeout=240)
        yield host
    finally:
        host.stop()


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL 16 + pgvector server (the pgserver wheel, Unix socket) for the whole
    session; each test that needs one creates its own database on it."""
    from probes.postgres import Postgres

    server = Postgres()  # a temporary folder (pytest's own temp root is private to root)
    try:
        yield server
    finally:
        server.close()


# -- the servable's real components, loaded once (imports and model loads are slow) ---------
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
