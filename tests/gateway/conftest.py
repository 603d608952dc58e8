"""Gateways (subprocesses) in front of real hosts on 127.0.0.1.

`fixture_host` serves tests/gateway/fixtures/config.json: `python_model` is the client's
deterministic chat fixture (tests/client/fixtures/chat_servable, wording under our control)
and `broken_model` a graph whose initialize fails (listed, never ready). The RAG tests use
the shared `rag_host` (tests/conftest.py).
"""
from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from probes.gateway import start_gateway
from probes.host import free_port, start_host
from tests.chat_markers import Markers

FIXTURE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config.json"
MODELS_ARG = ("--models", "python_model,broken_model")


@pytest.fixture(scope="session")
def gateway_marker_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gateway_markers")


@pytest.fixture(scope="session")
def gateway_markers(gateway_marker_dir) -> Markers:
    return Markers(gateway_marker_dir)


@pytest.fixture(scope="session")
def fixture_host(gateway_marker_dir):
    env = {"CHAT_FIXTURE_DIR": str(gateway_marker_dir), "CHAT_FIXTURE_DELAY": "0.01",
           "CHAT_FIXTURE_LONG_DELAY": "0.05"}
    with start_host(FIXTURE_CONFIG, env=env) as host:
        host.wait_ready(model="python_model", timeout=60)
        yield host


@pytest.fixture(scope="session")
def fixture_gateway(fixture_host):
    with start_gateway(fixture_host.grpc_url, MODELS_ARG) as gw:
        yield gw


@pytest.fixture(scope="session")
def rag_gateway(rag_host):
    with start_gateway(rag_host.grpc_url) as gw:
        yield gw


@pytest.fixture
def closed_port_url() -> str:
    return f"127.0.0.1:{free_port()}"


def server_metrics(host) -> dict[str, float]:
    with urllib.request.urlopen(f"{host.rest_url}/metrics", timeout=10) as r:
        text = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r"^(ragbot_\S+) ([0-9.e+-]+)$", text, re.M)}
