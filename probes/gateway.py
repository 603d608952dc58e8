"""Run `python -m gateway` as a subprocess on a free 127.0.0.1 port, for tests and benchmarks.

    with start_gateway(host.grpc_url) as gw:
        openai.OpenAI(base_url=gw.base_url, api_key="none")
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from .host import REPO, free_port, terminate


class GatewayError(RuntimeError):
    """The gateway died or did not answer /health in time; the message has the log tail."""


class GatewayProcess:
    def __init__(self, ovms_url: str, extra_args=(), env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.url}/v3"
        self._log = tempfile.NamedTemporaryFile(prefix="gateway-", suffix=".log", delete=False)
        self.log_path = self._log.name
        full_env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1", **(env or {}))
        cmd = [sys.executable, "-m", "gateway", "--ovms_url", ovms_url, "--host", "127.0.0.1",
               "--port", str(self.port), *extra_args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    def log_text(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_live(self, timeout: float = 30.0) -> "GatewayProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise GatewayError(f"gateway exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise GatewayError(f"gateway not live after {timeout} s:\n{self.log_text()[-3000:]}")

    def stop(self, timeout: float = 15.0) -> int:
        self._log.close()
        return terminate(self.proc, timeout)

    def __enter__(self) -> "GatewayProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_gateway(ovms_url: str, extra_args=(), env: dict | None = None) -> GatewayProcess:
    return GatewayProcess(ovms_url, extra_args, env).wait_live()
