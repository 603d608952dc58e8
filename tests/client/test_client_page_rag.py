"""The chat page in a real browser against the real RAG servable (tiny-random + all-MiniLM-L6-v2)
on the embedded host. Decoding steps are slowed (tests/e2e/slow_llm) so that an answer takes
long enough to watch it grow and to press Stop in the middle; the server's own counters
(/metrics) show that Stop ended the generation there."""
from __future__ import annotations

import os
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.client.test_client_page import (  # noqa: F401 - fixtures used by name
    ARTIFACTS, CHROMIUM, Chat, browser, chat, page_url,
)
from probes.knowledge import SERVABLE, rag_env, write_knowledge
from probes.host import start_host

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is not installed")

SLOW_LLM = Path(__file__).resolve().parents[1] / "e2e" / "slow_llm"


@pytest.fixture(scope="module")
def rag_page_host(tmp_path_factory):
    env = rag_env(write_knowledge(tmp_path_factory.mktemp("kb")), PYTHONPATH=str(SLOW_LLM),
                  TEST_LLM_STEP_DELAY_S="0.05", MAX_NEW_TOKENS="80")
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=240)
        yield host


@pytest.fixture(scope="module")
def ovms_url(rag_page_host):  # the page fixtures of test_client_page talk to this host
    return rag_page_host.grpc_url


def server_metrics(host) -> dict[str, float]:
    with urllib.request.urlopen(f"{host.rest_url}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(ragbot_\S+) ([0-9.e+-]+)$", text, re.M)}


def test_real_answer_grows_shows_sources_and_follow_up_works(chat):
    chat.ask("What colour is the zorblat fruit?")
    lengths = []
    deadline = time.monotonic() + 60
    while "Sources" not in chat.last_answer() and time.monotonic() < deadline:
        lengths.append(len(chat.last_answer()))
        time.sleep(0.1)
    assert len(set(n for n in lengths if n > 1)) >= 3, f"the answer did not grow: {lengths}"
    first = chat.wait_answer("Sources", timeout=60)
    assert "zorblat.md" in first
    chat.ask("And where is it grown?")
    second = chat.wait_answer("Sources", answers=2, timeout=60)
    assert "zorblat.md" in second or "rivers.md" in second or "quantum_bakery.txt" in second
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chat.page.screenshot(path=str(ARTIFACTS / "chat_rag.png"), full_page=True)


def test_stop_ends_the_generation_on_the_server(chat, rag_page_host):
    before = server_metrics(rag_page_host)
    chat.ask("Tell me everything about the Silverrun river.")
    deadline = time.monotonic() + 30
    while len(chat.last_answer()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    chat.page.locator("#stop").click()
    chat.wait_answer("Stopped.", timeout=20)
    key = 'ragbot_requests_total{outcome="cancelled"}'

    def cancelled() -> float:
        return server_metrics(rag_page_host).get(key, 0)

    deadline = time.monotonic() + 10
    while cancelled() <= before.get(key, 0) and time.monotonic() < deadline:
        time.sleep(0.1)
    after = server_metrics(rag_page_host)
    assert after[key] == before.get(key, 0) + 1, "the server did not see the Stop"
    assert after["ragbot_active_streams"] == 0
    time.sleep(0.5)
    assert server_metrics(rag_page_host)["ragbot_generated_tokens_total"] == \
        after["ragbot_generated_tokens_total"], "the server kept generating after Stop"
