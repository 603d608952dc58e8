"""Run the root scripts as a user would, in a subprocess."""
from __future__ import annotations

import socket
import subprocess
import sys

from probes.models import REPO_ROOT

PRECISION_DIRS = {
    "FP16": "tiny-random_FP16",
    "INT8": "tiny-random_INT8_compressed_weights",
    "INT4": "tiny-random_INT4_compressed_weights",
}


def run_script(script: str, *args: str, env: dict | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / script), *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )


def closed_port() -> int:
    """A local port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
