"""Injected model errors (the faulty-optimum backend double), client cancellation, the metrics endpoint and the request log."""
from __future__ import annotations

import re
import time

from probes.backend_doubles import FAULT_MARKER, SLOW_MARKER
from probes.kserve import KServeStream
from tests.reliability.conftest import (
    ask,
    metrics,
    raw_input,
    requests_total,
    server_ready,
    stream_once,
    wait_for,
)

METRIC_NAMES = (
    'ragbot_requests_total{outcome="ok"}', 'ragbot_requests_total{outcome="error"}',
    'ragbot_requests_total{outcome="cancelled"}', 'ragbot_requests_total{outcome="rejected"}',
    'ragbot_requests_total{outcome="invalid"}', "ragbot_active_streams", "ragbot_queued_requests",
    "ragbot_generated_tokens_total", "ragbot_time_to_first_token_seconds_count",
    "ragbot_time_per_output_token_seconds_count", "ragbot_index_chunks",
    'ragbot_index_rebuilds_total{outcome="ok"}', 'ragbot_index_rebuilds_total{outcome="error"}',
)


def test_metrics_endpoint_has_every_metric(main_host):
    s, last = stream_once(main_host.grpc_url, [raw_input("What colour is the zorblat fruit?")])
    assert last[0] == "end"
    m = metrics(main_host)
    for name in METRIC_NAMES:
        assert name in m, name
    assert m["ragbot_index_chunks"] == 5  # 3 small documents, the glossary, the notice
    assert m['ragbot_index_rebuilds_total{outcome="ok"}'] >= 1
    assert m["ragbot_time_to_first_token_seconds_count"] >= 1
    assert m["ragbot_generated_tokens_total"] >= last[1]["usage"]["completion_tokens"]


def test_an_error_inside_the_model_reaches_the_client_at_once(main_host):
    before = requests_total(metrics(main_host), "error")
    s, last = stream_once(main_host.grpc_url, [raw_input(f"What colour is the zorblat? {FAULT_MARKER}")],
                          timeout=30)
    assert last[0] == "fail", s.got  # in-band: OVMS would drop an exception silently
    assert last[1]["error"]["code"] == "INTERNAL" and "injected fault" in last[1]["error"]["message"]
    assert last[1]["finish_reason"] == "error"
    assert s.text and last[1]["answer"] == s.text  # the chunk before the fault, kept
    assert last[2] - s.started < 5, "an error must not wait for a timeout"
    m = wait_for(lambda: (lambda m: m if m["ragbot_active_streams"] == 0 else None)(metrics(main_host)))
    assert requests_total(m, "error") == before + 1
    assert server_ready(main_host)
    s, last = stream_once(main_host.grpc_url, [raw_input("What colour is the zorblat fruit?")])
    assert last[0] == "end"


def test_cancel_stops_generation_and_frees_the_slot(main_host):
    before = metrics(main_host)
    s = KServeStream(main_host.grpc_url, inputs=[raw_input(ask(f"Tell me everything about zorblat. {SLOW_MARKER}",
                                                   max_new_tokens=1500, ignore_eos=True))])
    for _ in range(5):
        assert s.next(timeout=30)[0] == "chunk"
    assert metrics(main_host)["ragbot_active_streams"] == 1
    s.close(cancel=True)
    after = wait_for(lambda: (lambda m: m if m["ragbot_active_streams"] == 0 else None)(metrics(main_host)),
                     timeout=5)
    assert after and after["ragbot_active_streams"] == 0
    assert requests_total(after, "cancelled") == requests_total(before, "cancelled") + 1
    tokens = after["ragbot_generated_tokens_total"]
    time.sleep(0.5)
    assert metrics(main_host)["ragbot_generated_tokens_total"] == tokens, "tokens still being generated"
    assert tokens - before["ragbot_generated_tokens_total"] < 100  # 1500 were asked for
    # the model is free at once: a new answer starts without waiting for the old one
    s2, last = stream_once(main_host.grpc_url, [raw_input(ask("What is a zorblat?", max_new_tokens=8))])
    assert last[0] == "end"
    assert "stream closed by the client" in main_host.log_text()


def test_one_info_line_per_request_without_text(main_host):
    question = "Which river freezes in winter? UNIQUE-QUESTION-MARKER"
    s, last = stream_once(main_host.grpc_url, [raw_input(question)])
    assert last[0] == "end"
    log = wait_for(lambda: (lambda t: t if t.count("outcome=ok") else None)(main_host.log_text()))
    lines = [l for l in log.splitlines() if "ragbot.requests" in l]
    assert lines
    pattern = re.compile(r"request [0-9a-f]{12} outcome=(ok|error|cancelled|invalid) prompt_tokens=\d+ "
                         r"completion_tokens=\d+ ttft=(\d+\.\d+s|-) duration=\d+\.\d+s( rewrite=\d+\.\d+s)?"
                         r"( model_steps=\d+)?$")
    assert all(pattern.search(l) for l in lines), lines
    assert "UNIQUE-QUESTION-MARKER" not in log
    assert "Silverrun" not in log  # document text neither
    assert any(f"completion_tokens={last[1]['usage']['completion_tokens']} " in l for l in lines)


def test_index_rebuild_is_counted(main_host):
    before = metrics(main_host)
    docs = main_host.kb_folder / "docs.txt"
    (main_host.kb_folder / "moon.txt").write_text("The moon of Norland is pale.\n", encoding="utf-8")
    docs.write_text(docs.read_text(encoding="utf-8") + "moon.txt\n", encoding="utf-8")
    ok = 'ragbot_index_rebuilds_total{outcome="ok"}'
    after = wait_for(lambda: (lambda m: m if m[ok] > before[ok] else None)(metrics(main_host)), timeout=30)
    assert after, "no rebuild counted"
    assert after["ragbot_index_chunks"] == before["ragbot_index_chunks"] + 1
    assert after["ragbot_index_rebuild_seconds_count"] > before["ragbot_index_rebuild_seconds_count"]


def test_unary_runs_to_its_end_after_the_client_deadline(main_host):
    """As OVMS's unary path (the graph runs until idle, whatever the client's deadline): the
    client gets DEADLINE_EXCEEDED, the server finishes the answer and frees its slot."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    before = requests_total(metrics(main_host), "ok")
    client = grpcclient.InferenceServerClient(main_host.grpc_url)
    try:
        with __import__("pytest").raises(InferenceServerException) as e:
            client.infer("python_model", [raw_input(ask(f"Tell me everything about zorblat. {SLOW_MARKER}",
                                                         max_new_tokens=100, ignore_eos=True))], client_timeout=0.5)
        assert "DEADLINE" in str(e.value.status()) or "Deadline" in str(e.value)
    finally:
        client.close()
    m = wait_for(lambda: (lambda m: m if requests_total(m, "ok") > before
                          and m["ragbot_active_streams"] == 0 else None)(metrics(main_host)), timeout=60)
    assert m, "the answer did not finish on the server"


def test_cancel_frees_the_model_for_the_next_request(main_host):
    """Without the slow marker: a long answer (~1500 tokens) is cancelled after its first chunk;
    the next request must not wait for the rest of it (the model serialises generation)."""
    # no passages (retrieval off): the whole window but the question is left for the answer
    long_prompt = [raw_input(ask("Tell me about zorblat.", max_new_tokens=1500, ignore_eos=True,
                                 retrieval=False))]
    short_prompt = [raw_input(ask("What is a zorblat?", max_new_tokens=4))]
    started = time.monotonic()
    s, last = stream_once(main_host.grpc_url, long_prompt, timeout=60)
    full = time.monotonic() - started
    assert last[0] == "end" and last[1]["usage"]["completion_tokens"] > 1000, last
    first_chunk = next(e[2] for e in s.got if e[0] == "chunk") - s.started

    s = KServeStream(main_host.grpc_url, inputs=long_prompt)
    assert s.next(timeout=30)[0] == "chunk"
    cancelled = time.monotonic()
    s.close(cancel=True)
    s2, last = stream_once(main_host.grpc_url, short_prompt)
    after_cancel = time.monotonic() - cancelled
    assert last[0] == "end", s2.got
    # the rest of the long answer would take (full - first_chunk) alone
    assert after_cancel < 0.6 * (full - first_chunk) + 0.3, (after_cancel, full, first_chunk)
