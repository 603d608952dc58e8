"""Backpressure (MAX_CONCURRENT_STREAMS=2, MAX_QUEUED_REQUESTS=1) and graceful shutdown.

A host of its own; the shutdown test ends it, so it runs last in this module.
"""
from __future__ import annotations

import time

import pytest

from probes.backend_doubles import SLOW_MARKER
from probes.kserve import KServeStream
from tests.reliability.conftest import (
    ask,
    knowledge,
    metrics,
    raw_input,
    requests_total,
    start,
    stream_once,
    unary,
    wait_for,
)

GRACE = 2.0


@pytest.fixture(scope="module")
def tight_host(tmp_path_factory):
    host = start(knowledge(tmp_path_factory.mktemp("kb_tight")), extra_args=("--shutdown_grace", str(GRACE)),
                 MAX_CONCURRENT_STREAMS="2", MAX_QUEUED_REQUESTS="1")
    try:
        yield host
    finally:
        host.stop()


def ask_with_the_terminal_client(url: str):
    """client/cli.py in-process (the clock covers the request, not Python's start-up)."""
    import contextlib
    import io

    from client import cli

    err = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(["--ovms_url", url, "Anyone free?"])
    return code, err.getvalue(), time.monotonic() - started


def slow(question: str, tokens: int) -> list:
    return [raw_input(ask(f"{question} {SLOW_MARKER}", max_new_tokens=tokens, ignore_eos=True))]


def test_excess_requests_wait_then_are_refused_at_once(tight_host):
    url = tight_host.grpc_url
    active = [KServeStream(url, inputs=slow("Tell me about zorblat.", 1000)) for _ in range(2)]
    queued = None
    try:
        for s in active:
            assert s.next(timeout=30)[0] == "chunk"
        queued = KServeStream(url, inputs=slow("Which river freezes in winter?", 20))
        assert wait_for(lambda: metrics(tight_host)["ragbot_queued_requests"] == 1, timeout=10)
        before = requests_total(metrics(tight_host), "rejected")
        s, last = stream_once(url, [raw_input("And now?")], timeout=10)
        assert last[0] == "fail" and last[1]["error"]["code"] == "RESOURCE_EXHAUSTED", last
        assert "server busy" in last[1]["error"]["message"]
        assert "MAX_QUEUED_REQUESTS" in last[1]["error"]["message"]
        assert last[2] - s.started < 3, "refused at once"
        _, end = unary(url, [raw_input("And unary?")])  # in-band on unary too
        assert end["error"]["code"] == "RESOURCE_EXHAUSTED" and end["finish_reason"] == "error"
        code, err, elapsed = ask_with_the_terminal_client(url)
        assert code == 2 and "(RESOURCE_EXHAUSTED): server busy" in err and "Traceback" not in err
        assert elapsed < 2, f"the terminal client showed the refusal after {elapsed:.2f} s"
        assert requests_total(metrics(tight_host), "rejected") == before + 3
        assert queued.events.empty(), "the queued request waits"
        active[0].close(cancel=True)  # a slot frees: the queued one is served
        last = queued.finish(timeout=30)
        assert last[0] == "end", queued.got
        assert queued.text
    finally:
        for s in active:
            s.close(cancel=True)
        if queued:
            queued.close(cancel=True)
    m = wait_for(lambda: (lambda m: m if m["ragbot_active_streams"] == 0 else None)(metrics(tight_host)))
    assert m and m["ragbot_queued_requests"] == 0


def test_sigterm_lets_short_streams_finish_and_ends_long_ones_clearly(tight_host):
    short = KServeStream(tight_host.grpc_url, inputs=slow("What colour is the zorblat?", 20))  # ~0.4 s
    long = KServeStream(tight_host.grpc_url, inputs=slow("Tell me everything about zorblat.", 1000))  # ~20 s
    try:
        assert short.next(timeout=30)[0] == "chunk"
        assert long.next(timeout=30)[0] == "chunk"
        started = time.monotonic()
        code = tight_host.stop(timeout=GRACE + 15)
        elapsed = time.monotonic() - started
        assert code == 0, tight_host.log_text()[-3000:]
        assert short.finish(timeout=5)[0] == "end", short.got
        last = long.finish(timeout=5)
        assert last[0] == "error" and "shutting down" in last[1], last
        assert GRACE - 0.5 < last[2] - started < GRACE + 3
        assert elapsed < GRACE + 8, elapsed
    finally:
        short.close(cancel=False)
        long.close(cancel=True)
    log = tight_host.log_text()
    assert "Finalizing model python_model" in log and "Shutdown complete" in log
    assert "RAG service closed (docs watcher stopped)" in log
