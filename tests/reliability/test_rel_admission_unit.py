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
