"""A host serving the client's own fixture servable (tests/client/fixtures/chat_servable)."""
from __future__ import annotations

from pathlib import Path

import pytest

from probes.host import free_port
from tests.chat_markers import Markers

FIXTURE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "chat_servable" / "config.json"


@pytest.fixture(scope="session")
def marker_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("chat_markers")


@pytest.fixture(scope="session")
def markers(marker_dir) -> Markers:
    return Markers(marker_dir)


@pytest.fixture(scope="session")
def chat_host(marker_dir):
    """The embedded OVMS-compatible host serving the fixture servable."""
    from probes.host import start_host

    env = {"CHAT_FIXTURE_DIR": str(marker_dir), "CHAT_FIXTURE_DELAY": "0.03",
           "CHAT_FIXTURE_LONG_DELAY": "0.1"}
    with start_host(FIXTURE_CONFIG, env=env) as host:
        host.wait_ready(model="python_model", timeout=60)
        yield host


@pytest.fixture(scope="session")
def ovms_url(chat_host) -> str:
    return chat_host.grpc_url


@pytest.fixture(scope="module")
def page_args() -> list[str]:
    """Extra arguments of the chat page (client/app.py); modules override it."""
    return ["--status_url", "off"]


@pytest.fixture
def closed_port_url() -> str:
    return f"127.0.0.1:{free_port()}"
