"""The shared probes: tests, benchmarks and eval reach the host through probes/, never tests/."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from probes.host import HostError, start_host

REPO = Path(__file__).resolve().parent.parent
ECHO_CONFIG = REPO / "tests" / "host" / "fixtures" / "echo_servable" / "config.json"


def test_nothing_outside_tests_imports_from_tests():
    pattern = re.compile(r"^\s*(from|import)\s+tests(\.|\s|$)", re.M)
    offenders = [str(p.relative_to(REPO))
                 for folder in ("benchmarks", "eval", "probes", "modeltools", "client", "gateway",
                                "ovms_host", "servable_stream")
                 for p in (REPO / folder).rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_a_failed_wait_stops_the_host_it_started():
    host = start_host(ECHO_CONFIG)
    with pytest.raises(HostError, match="not live after"):
        host.wait_live(timeout=0.001)  # no host answers that fast: the wait fails...
    assert host.proc.poll() is not None  # ...and leaves no orphan process behind
