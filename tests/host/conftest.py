"""Shared fixture: one echo-servable host subprocess per test module."""
import os
import sys

import pytest

_TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _p in (_TESTS, os.path.dirname(_TESTS)):  # tests/ and the repo (ovms_host, probes)
    if _p not in sys.path:
        sys.path.insert(0, _p)
from host_helpers import config  # noqa: E402

from probes.host import start_host  # noqa: E402


@pytest.fixture(scope="module")
def echo_host(tmp_path_factory):
    markers = tmp_path_factory.mktemp("echo_markers")
    host = start_host(config("echo_servable"),
                      env={"ECHO_MARKER_DIR": str(markers), "ECHO_DELAY": "0.05"})
    host.markers = markers
    try:
        host.wait_ready(timeout=30)
        yield host
    finally:
        host.stop()
