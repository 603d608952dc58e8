"""Admission control in-process (no host): slots, FIFO queue, refusal, release."""
from __future__ import annotations

import threading
import time

import pytest
from ragbot.answering.admission import Admission
from ragbot.errors import OverloadedError


def test_slots_then_queue_then_refusal_and_fifo_order():
    adm = Admission(max_active=1, max_queued=2)
    first = adm.admit()
    order = []

    def waiter(name):
        slot = adm.admit()
        order.append(name)
        time.sleep(0.05)
        slot.release()

    threads = []
    for name in ("a", "b"):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        assert _eventually(lambda n=len(threads): adm.queued == n)
    with pytest.raises(OverloadedError) as e:
        adm.admit()
    assert e.value.grpc_status == "RESOURCE_EXHAUSTED" and "MAX_QUEUED_REQUESTS=2" in str(e.value)
    first.release()
    first.release()  # idempotent
    for t in threads:
        t.join(5)
    assert order == ["a", "b"] and adm.active == 0 and adm.queued == 0


def test_cancelled_waiter_leaves_the_queue():
    adm = Admission(max_active=1, max_queued=1)
    slot = adm.admit()
    cancel = threading.Event()
    result = []
    t = threading.Thread(target=lambda: result.append(adm.admit(cancel)))
    t.start()
    assert _eventually(lambda: adm.queued == 1)
    cancel.set()
    t.join(5)
    assert result == [None] and adm.queued == 0
    slot.release()
    assert adm.active == 0


def _eventually(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_background_request_waits_for_the_questions_first_token(monkeypatch):
    from ragbot.answering import admission

    monkeypatch.setattr(admission, "BACKGROUND_GRACE_S", 0.05)
    adm = Admission(max_active=4, max_queued=4)
    question = adm.admit()
    assert adm.awaiting_first == 1
    got = []
    t = threading.Thread(target=lambda: got.append(adm.admit(background=True)))
    t.start()
    time.sleep(0.3)
    assert got == [] and adm.active == 1  # still waiting: the question has no token yet
    question.first_token()
    t.join(5)
    assert len(got) == 1 and adm.active == 2 and adm.awaiting_first == 0
    got[0].release(), question.release()
    assert adm.active == 0


def test_a_background_request_waits_the_grace_even_when_quiet(monkeypatch):
    """A title request sent beside a question may arrive first: it leaves the question time
    to arrive (the question then counts as awaiting its first token)."""
    from ragbot.answering import admission

    monkeypatch.setattr(admission, "BACKGROUND_GRACE_S", 0.3)
    adm = Admission(max_active=4, max_queued=4)
    started = time.monotonic()
    slot = adm.admit(background=True)
    assert time.monotonic() - started >= 0.3 and adm.awaiting_first == 0
    slot.first_token(), slot.release()
    assert adm.awaiting_first == 0 and adm.active == 0


def test_a_question_that_ends_without_text_stops_holding_back_background(monkeypatch):
    from ragbot.answering import admission

    monkeypatch.setattr(admission, "BACKGROUND_GRACE_S", 0.0)
    monkeypatch.setattr(admission, "BACKGROUND_MAX_WAIT_S", 5.0)
    adm = Admission(max_active=1, max_queued=0)
    question = adm.admit()
    with pytest.raises(OverloadedError):
        adm.admit()  # refused: it must not count as awaiting a token
    assert adm.awaiting_first == 1
    question.release()  # released before any token (an error, a cancel)
    assert adm.awaiting_first == 0
    started = time.monotonic()
    adm.admit(background=True).release()
    assert time.monotonic() - started < 1.0


def test_idle_hook_runs_when_the_last_answer_ends_with_none_waiting():
    calls = []
    adm = Admission(max_active=2, max_queued=1, on_idle=lambda: calls.append(adm.active))
    a, b = adm.admit(), adm.admit()
    a.release()
    assert calls == []  # b still generating
    b.release()
    b.release()  # idempotent: no second idle call
    assert calls == [0]
    c = adm.admit()
    c.release()
    assert calls == [0, 0]
