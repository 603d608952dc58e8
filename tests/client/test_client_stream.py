"""client/stream.py against a real host serving the fixture servable."""
from __future__ import annotations

import threading
import time

import pytest

from client.stream import (
    Done,
    ServerError,
    ServerUnreachableError,
    StreamClient,
    StreamTimeoutError,
)


@pytest.fixture
def client(ovms_url):
    with StreamClient(ovms_url, idle_timeout=15) as c:
        yield c


def test_chunks_arrive_in_order_then_done_with_end_info(client):
    events = list(client.ask("hello there"))
    *chunks, done = events
    assert all(isinstance(c, str) for c in chunks) and len(chunks) > 3
    assert "".join(chunks) == "Echo: hello there | history turns: 0 | end"
    assert isinstance(done, Done)
    info = done.end_info
    assert info.finish_reason == "stop"
    assert info.usage["completion_tokens"] == len(chunks)
    web, pdf = info.sources
    assert (web.source, web.title, web.score, web.is_url) == (
        "https://example.com/guide.html", "Fixture guide", 0.91, True)
    assert (pdf.source, pdf.page, pdf.is_url) == ("/data/manual.pdf", 3, False)


def test_history_and_options_are_sent(client):
    history = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    answer = client.ask("follow up", history=history, max_new_tokens=2)
    events = list(answer)
    assert answer.text == "Echo: follow up | history turns: 2 | end"
    assert events[-1].end_info.finish_reason == "length"


def test_connection_is_reused_between_requests(client):
    list(client.ask("one"))
    first = client._pool._idle[-1]
    list(client.ask("two"))
    assert client._pool._idle == [first]


def test_concurrent_requests_each_get_their_own_stream(client):
    answers: dict[int, str] = {}

    def ask(n: int) -> None:
        a = client.ask(f"question {n}")
        list(a)
        answers[n] = a.text

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert answers == {n: f"Echo: question {n} | history turns: 0 | end" for n in range(3)}


def test_server_error_mid_stream_is_typed_with_server_message(client):
    """Reported in-band (end_signal "error"): raised as soon as it arrives, with its code."""
    answer = client.ask("error please now")
    received = []
    with pytest.raises(ServerError) as caught:
        for event in answer:
            received.append(event)
    assert "fixture exploded on purpose" in str(caught.value) and caught.value.code == "INTERNAL"
    assert "".join(received) == "Echo: error please"
    assert answer.end_info.finish_reason == "error" and answer.end_info.answer == "Echo: error please"
    assert list(client.ask("again"))[-1].end_info.finish_reason == "stop"


def test_in_band_refusal_is_shown_at_once(client):
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        list(client.ask("busy now"))
    assert time.monotonic() - started < 2
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    assert str(caught.value) == ("the model server reported an error (RESOURCE_EXHAUSTED): "
                                 "server busy (fixture); retry later")


def test_a_servable_that_raises_is_heard_only_through_the_idle_timeout(ovms_url):
    """What OVMS does with an exception in execute: nothing reaches the client; only the
    idle timeout ends the wait (hence the servable's in-band errors)."""
    with StreamClient(ovms_url, idle_timeout=1.0) as c:
        with pytest.raises(StreamTimeoutError):
            list(c.ask("raise now"))


def test_unreachable_server_fails_fast_and_readably(closed_port_url):
    started = time.monotonic()
    with StreamClient(closed_port_url, idle_timeout=30) as c:
        with pytest.raises(ServerUnreachableError) as caught:
            list(c.ask("anyone?"))
    assert time.monotonic() - started < 5
    assert f"cannot reach the model server at {closed_port_url}" in str(caught.value)


def test_cancel_stops_generation_on_the_server(client, markers):
    answer = client.ask("long:cancel")
    received = []
    for event in answer:
        received.append(event)
        if len(received) == 3:
            threading.Timer(0.05, answer.cancel).start()
    assert isinstance(received[-1], Done) and received[-1].end_info.finish_reason == "cancelled"
    markers.assert_stopped("cancel")
    assert markers.count("cancel") < 20


def test_breaking_out_of_the_loop_cancels_too(client, markers):
    for n, _ in enumerate(client.ask("long:break")):
        if n == 2:
            break
    markers.assert_stopped("break")


def test_idle_timeout_raises_and_cancels(ovms_url, markers):
    with StreamClient(ovms_url, idle_timeout=0.5) as c:
        started = time.monotonic()
        with pytest.raises(StreamTimeoutError, match="no response from the model server"):
            list(c.ask("long:idle@3"))
        assert time.monotonic() - started < 3
    markers.assert_stopped("idle", timeout=8)
