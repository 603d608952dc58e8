"""Both LLM backends on the tiny random model, loaded once per session.

INFERENCE_PRECISION_HINT f32 for both: this CPU defaults to bf16, and on random weights
(near-tied logits) bf16 rounding alone flips greedy picks between the two backends.
"""
from __future__ import annotations

import pytest

from probes.knowledge import SERVABLE, rag_env, write_knowledge

F32 = '{"INFERENCE_PRECISION_HINT": "f32"}'


@pytest.fixture(scope="session")
def backend_docs(tmp_path_factory):
    return write_knowledge(tmp_path_factory.mktemp("backends-kb"))


def _settings(docs, backend: str):
    from ragbot.settings import Settings

    return Settings.from_env(SERVABLE, rag_env(docs, MAX_NEW_TOKENS="48", SEED="7", OV_CONFIG=F32, LLM_BACKEND=backend))


@pytest.fixture(scope="session")
def genai_llm(backend_docs):
    from ragbot.backends.loading import load_backend

    llm = load_backend(_settings(backend_docs, "genai"))
    yield llm
    llm.close()


@pytest.fixture(scope="session")
def optimum_llm(backend_docs):
    from ragbot.backends.loading import load_backend

    return load_backend(_settings(backend_docs, "optimum"))
