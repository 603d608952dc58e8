"""Shared fixtures: the repo on sys.path, and ONE started RAG host for the slow end-to-end tests."""
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
