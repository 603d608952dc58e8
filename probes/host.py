"""Run `python -m ovms_host` as a subprocess on free ports, for tests, benchmarks and the eval.

    with start_host("servable_stream/config.json", env={"X": "1"}) as host:
        host.wait_ready()                      # model "python_model"
        client = tritonclient.grpc.InferenceServerClient(host.grpc_url)

A wait that fails stops the process before it raises: a failed fixture leaves no orphan host.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM a server process, wait for it (SIGKILL after `timeout`), return its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


class HostError(RuntimeError):
    """The host died or did not become live/ready in time; the message has the log tail."""


class HostProcess:
    """A running `python -m ovms_host`; ports are picked free (re-picked on a bind clash,
    since other test runs on the machine pick ports concurrently)."""

    MAX_SPAWNS = 3

    def __init__(self, config_path, env=None, log_level="INFO", extra_args=()):
        self.config_path = os.path.abspath(config_path)
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(
            [REPO] + [p for p in [full_env.get("PYTHONPATH")] if p])
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env or {})
        self._env, self._log_level, self._extra_args = full_env, log_level, list(extra_args)
        self._spawns = 0
        self._spawn()

    def _spawn(self):
        self._spawns += 1
        self.grpc_port, self.rest_port = free_port(), free_port()
        self.grpc_url = f"127.0.0.1:{self.grpc_port}"
        self.rest_url = f"http://127.0.0.1:{self.rest_port}"
        self._log = tempfile.NamedTemporaryFile(prefix="ovms_host-", suffix=".log",
                                                delete=False)
        self.log_path = self._log.name
        cmd = [sys.executable, "-m", "ovms_host", "--config_path", self.config_path,
               "--port", str(self.grpc_port), "--rest_port", str(self.rest_port),
               "--log_level", self._log_level, *self._extra_args]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self._env, stdout=self._log,
                                     stderr=subprocess.STDOUT)

    # -- inspection -----------------------------------------------------------------
    def log_text(self) -> str:
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def _tail(self, lines=40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _status(self, path) -> int:
        try:
            with urllib.request.urlopen(self.rest_url + path, timeout=2) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except OSError:
            return 0

    def _wait(self, what, predicate, timeout):
        try:
            return self._wait_for(what, predicate, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_for(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "Cannot start servers" in self.log_text() and self._spawns < self.MAX_SPAWNS:
                    self._log.close()
                    self._spawn()  # a port was taken meanwhile: try fresh ones
                    continue
                raise HostError(f"ovms_host exited with code {self.proc.returncode} while "
                                f"waiting for {what}; log tail:\n{self._tail()}")
            # Only ask once *our* process listens: a foreign server may own a stale port.
            if "Started REST server" in self.log_text() and predicate():
                return self
            time.sleep(0.05)
        raise HostError(f"ovms_host not {what} after {timeout} s; log tail:\n{self._tail()}")

    def wait_live(self, timeout=30.0) -> "HostProcess":
        return self._wait("live", lambda: self._status("/v2/health/live") == 200, timeout)

    def wait_server_ready(self, timeout=60.0) -> "HostProcess":
        """Initial load finished, whatever the outcome."""
        return self._wait("server-ready", lambda: self._status("/v2/health/ready") == 200,
                          timeout)

    def wait_ready(self, model="python_model", timeout=60.0) -> "HostProcess":
        """The model is ready; fails early (with the log) if its load failed."""
        def ready():
            if self._status(f"/v2/models/{model}/ready") == 200:
                return True
            if self._status("/v2/health/ready") == 200:  # load finished...
                # ...but the model may have turned ready between the two probes (or the
                # first probe timed out on a busy machine): ask once more before failing.
                if self._status(f"/v2/models/{model}/ready") == 200:
                    return True
                raise HostError(f"model {model} failed to load; log tail:\n{self._tail()}")
            return False
        return self._wait(f"ready ({model})", ready, timeout)

    # -- lifecycle ------------------------------------------------------------------
    def stop(self, timeout=15.0) -> int:
        """SIGTERM, wait, return the exit code (SIGKILL after timeout)."""
        self._log.close()
        return terminate(self.proc, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_host(config_path, env: dict | None = None, log_level="INFO",
               extra_args=()) -> HostProcess:
    return HostProcess(config_path, env=env, log_level=log_level, extra_args=extra_args)
