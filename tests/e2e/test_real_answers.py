"""Real answers: the real SmolLM2-135M-Instruct (from its PyPI wheel) through the real host,
greedy, on invented facts no model knows: the fact must be in the answer and its document
first among the sources."""
from __future__ import annotations

import pytest

from client.stream import Done, StreamClient

pytestmark = [pytest.mark.model, pytest.mark.host]

QUESTIONS = [
    ("What colour is the zorblat fruit?", "purple", "zorblat.md"),
    ("What bread does the Quantum Bakery sell?", "sourdough", "quantum_bakery.txt"),
    ("Where is the zorblat grown?", "kelvara", "zorblat.md"),
    ("How long is the Silverrun river?", "840", "rivers.md"),
]


@pytest.fixture(scope="module")
def real_host(tmp_path_factory):
    from probes.knowledge import SERVABLE, rag_env, write_knowledge
    from probes.host import start_host
    from probes.models import SMOLLM2, smollm2_dir

    env = rag_env(write_knowledge(tmp_path_factory.mktemp("kb")), SELECTED_MODEL=SMOLLM2,
                  LLM_MODEL_DIR=str(smollm2_dir()), MAX_NEW_TOKENS="64")
    env.pop("SEED")
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=300)
        yield host


@pytest.mark.parametrize("question, fact, document", QUESTIONS)
def test_the_real_model_answers_invented_facts_from_the_documents(real_host, question, fact, document):
    with StreamClient(real_host.grpc_url, idle_timeout=120) as client:
        answer = client.ask(question)
        *_, done = list(answer)
    assert isinstance(done, Done) and done.end_info.finish_reason == "stop", done
    assert fact in answer.text.lower(), answer.text
    assert done.end_info.sources[0].source == document


def test_without_documents_the_model_does_not_know_the_invented_fact(real_host):
    with StreamClient(real_host.grpc_url, idle_timeout=120) as client:
        answer = client.ask("What colour is the zorblat fruit?", retrieval=False)
        *_, done = list(answer)
    assert done.end_info.sources == []
    assert "purple" not in answer.text.lower(), answer.text
