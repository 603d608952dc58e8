"""32 concurrent streams, 3 rounds: no errors, no interleaved or lost chunks, flat memory."""
from __future__ import annotations

import threading

from probes.kserve import KServeStream
from tests.reliability.conftest import (
    ask,
    metrics,
    proc_status,
    raw_input,
    rss_kb,
    unary,
    wait_for,
)

STREAMS = 32
ROUNDS = 3
QUESTIONS = [
    "What colour is the zorblat fruit?", "When does the Quantum Bakery open?",
    "How long is the Silverrun river?", "Where are zorblats grown?",
    "What bread does the Quantum Bakery sell?", "What happens to the Silverrun in winter?",
    "What juice is made from zorblats?", "Who skates on the river?",
]
MAX_NEW = 12


def prompt(i: int) -> str:
    return ask(QUESTIONS[i % len(QUESTIONS)], max_new_tokens=MAX_NEW)


def run_round(url: str) -> list:
    results: list = [None] * STREAMS

    def one(i):
        s = KServeStream(url, inputs=[raw_input(prompt(i))])
        try:
            last = s.finish(timeout=120)
            results[i] = (last, s.text)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = (("error", repr(e), 0), s.text)
        finally:
            s.close(cancel=False)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(STREAMS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results


def test_32_concurrent_streams_three_rounds(main_host):
    # greedy decoding is deterministic: each stream must equal the unary answer to its prompt
    expected = {q: unary(main_host.grpc_url, [raw_input(prompt(i))])[0]
                for i, q in enumerate(QUESTIONS)}
    pid = main_host.proc.pid
    rss, threads = [], []
    for _ in range(ROUNDS):
        results = run_round(main_host.grpc_url)
        for i, (last, text) in enumerate(results):
            assert last[0] == "end", (i, last)
            assert text == expected[QUESTIONS[i % len(QUESTIONS)]], (i, text)
            assert last[1]["usage"]["completion_tokens"] <= MAX_NEW
        assert wait_for(lambda: metrics(main_host)["ragbot_active_streams"] == 0, timeout=10)
        rss.append(rss_kb(pid))
        threads.append(proc_status(pid, "Threads"))
    # memory stays flat once warm: the allocator's arenas make RSS swing by ~10-15% between
    # rounds at ~1 GB, so round 3 is compared with the larger of the warm rounds, +20%;
    # a leak per stream (a held generator, KV cache or thread) would grow every round
    assert rss[2] <= max(rss[:2]) * 1.2, rss
    # no thread is left behind by 32 finished streams (reader + worker + LLM per stream)
    assert threads[2] <= threads[1] + 8, threads
