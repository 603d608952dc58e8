"""A host serving the client's own fixture servable (tests/client/fixtures/chat_servable)."""
from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

FIXTURE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "chat_servable" / "config.json"


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Markers:
    """Reads the counter files the fixture's "long:<tag>" mode writes."""

    def __init__(self, folder: Path):
        self.folder = folder

    def count(self, tag: str) -> int:
        path = self.folder / f"{tag}.count"
        return int(path.read_text() or 0) if path.exists() else 0

    def closed(self, tag: str) -> bool:
        return (self.folder / f"{tag}.closed").exists()

    def wait_count(self, tag: str, at_least: int, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self.count(tag) < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.count(tag)

    def assert_stopped(self, tag: str, timeout: float = 5.0) -> None:
        """Generation closed, and the counter no longer moves."""
        deadline = time.monotonic() + timeout
        while not self.closed(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.closed(tag), f"the server kept generating for {tag!r} (no close marker)"
        before = self.count(tag)
        time.sleep(0.5)
        assert self.count(tag) == before, f"the counter for {tag!r} still grows"


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
