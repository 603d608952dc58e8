"""The files the chat fixture servable (tests/client/fixtures/chat_servable) writes in its
"long:<tag>" mode: `<tag>.count` (chunks generated so far), then `<tag>.closed` once its
generator was closed. The client and gateway tests read them to see the server stop."""
from __future__ import annotations

import time
from pathlib import Path


class Markers:
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

    def wait_closed(self, tag: str, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.closed(tag)

    def assert_stopped(self, tag: str, timeout: float = 5.0) -> None:
        """Generation closed, and the counter no longer moves."""
        assert self.wait_closed(tag, timeout), f"the server kept generating for {tag!r} (no close marker)"
        before = self.count(tag)
        time.sleep(0.5)
        assert self.count(tag) == before, f"the counter for {tag!r} still grows"
