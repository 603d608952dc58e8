"""Every `make` command README.md shows works as written.

Each one is read out of README.md (inline code and code blocks) and dry-run (`make -n`, which
still runs the model pick of a command without SELECTED_MODEL, as `make` itself would): it
must reach the program it is documented to start, with the values it was given, never
"Nothing to be done". The ones that start something cheap are then started for real on free
127.0.0.1 ports with the offline test models: `make models`, `make serve`, `make gateway`,
`make client`. (A real `make serve` without arguments would prepare SmolLM2 and
all-mpnet-base-v2, minutes of work: its dry run shows the pick and the host command.)
"""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from probes.host import free_port
from probes.knowledge import rag_env, write_knowledge
from tests.scripts import closed_port

pytestmark = pytest.mark.host

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")

# what a dry run of each target must show (a line of the recipe it runs)
REACHES = {
    "run": ("-m ovms_host --config_path", "-m gateway --ovms_url", "client/app.py --web_url"),
    "test": ("-m pytest",),
    "test_fast": ('-m pytest -m "not model and not host and not browser"',),
    "install": (),  # up to date: nothing to do is right
    "models": ("download_model.py --model", "download_embedding_model.py --model"),
    "serve": ("-m ovms_host --config_path",),
    "client": ("client/app.py --web_url",),
    "gateway": ("-m gateway --ovms_url",),
    "eval": ("-m eval.run",),
    "bench": ("-m benchmarks.run",),
    "python_image": ("build -f Dockerfile.python",),
}
# variables whose value must reach the command line of what starts
SHOWN_VARS = ("CONFIG", "PORT", "REST_PORT", "WEB_URL", "OVMS_URL", "GATEWAY_PORT", "BASE_OS")
# set by an outer `make test` (or a shell) and not by a README command
MAKE_VARS = ("SELECTED_MODEL", "EMBEDDING_MODEL", "LLM_MODEL_DIR", "EMBEDDING_MODEL_DIR", "CONFIG",
             "PORT", "REST_PORT", "WEB_URL", "OVMS_URL", "GATEWAY_HOST", "GATEWAY_PORT", "LOG_LEVEL",
             "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTEST_ARGS")


def readme_make_commands() -> list[str]:
    found, fenced, prose = [], False, []
    for line in README.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif fenced:
            line = line.split("#", 1)[0].strip()
            if re.match(r"(?:[A-Z_]+=\S+ )*make ", line):
                found.append(line)
        else:
            prose.append(line)
    found += re.findall(r"`((?:[A-Z_]+=\S+ )*make [^`]+)`", "\n".join(prose))
    return list(dict.fromkeys(c.strip() for c in found))


COMMANDS = readme_make_commands()


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MAKE_VARS and k != "HF_HUB_OFFLINE"}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_HOME=str(tmp_path / "hf-home"),
               **extra)
    return env


def split(command: str) -> tuple[dict[str, str], list[str]]:
    words = shlex.split(command)
    env = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "make", command
    return env, words[1:]


def test_readme_shows_every_step_and_no_placeholders():
    targets = {split(c)[1][0] for c in COMMANDS}
    assert {"run", "test", "install", "models", "serve", "client", "gateway", "eval", "bench",
            "python_image"} <= targets, targets
    assert not [c for c in COMMANDS if "…" in c or "|" in c], "a README command is not runnable as written"
    assert any(split(c)[1] == ["models"] for c in COMMANDS) or "`make models`" in README
    assert any(split(c)[1] == ["serve"] for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_make_command_dry_runs_to_its_program(command, tmp_path):
    env_prefix, args = split(command)
    target = args[0]
    result = subprocess.run(["make", "-n", *args], cwd=REPO, env=clean_env(tmp_path, **env_prefix),
                            capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    if target != "install":
        assert "Nothing to be done" not in out, out
    for needle in REACHES[target]:
        assert needle in out, (command, out[-3000:])
    for word in args[1:]:
        name, _, value = word.partition("=")
        if name in SHOWN_VARS:
            assert value in out, (command, name, out[-3000:])


def test_make_serve_and_models_without_arguments_pick_a_model(tmp_path):
    """No SELECTED_MODEL: the pick (one line saying which and why), then the same target with
    it; serve prepares what is missing, then starts the host."""
    for target, needles in (("serve", ("SELECTED_MODEL=", "-m ovms_host --config_path servable_stream/config.json "
                                       "--port 9000 --rest_port 8000")),
                            ("models", ("SELECTED_MODEL=",))):
        result = subprocess.run(["make", "-n", target], cwd=REPO, env=clean_env(tmp_path),
                                capture_output=True, text=True, timeout=120)
        out = result.stdout + result.stderr
        assert result.returncode == 0 and all(n in out for n in needles), out[-3000:]
        picked = re.search(r"SELECTED_MODEL=(\S+):", out).group(1)
        assert picked == "qwen2.5-coder-1.5b-instruct"
        assert f"servable_stream/{picked}" in out or target == "serve"


def _get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, ""
    except (urllib.error.URLError, OSError):
        return 0, ""


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = _get(url)
        if status == 200:
            return body
        assert proc.poll() is None, f"{proc.args} exited {proc.returncode}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"{url} not up after {timeout} s:\n{log.read_text()[-3000:]}")


class Started:
    """`make <args>` in its own process group (make, then the server it runs)."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = log
        self.proc = subprocess.Popen(["make", *args], cwd=REPO, env=env, stdout=open(log, "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def test_make_models_serve_gateway_and_client_start_for_real(tmp_path):
    from probes.models import minilm_dir, tiny_random_dir

    docs = write_knowledge(tmp_path / "kb")
    env = clean_env(tmp_path, **{k: v for k, v in rag_env(docs).items()
                                 if k not in ("SELECTED_MODEL", "EMBEDDING_MODEL")},
                    LLM_BACKEND="genai")  # starts in seconds (no torch import)
    models = [f"SELECTED_MODEL=tiny-random", f"LLM_MODEL_DIR={tiny_random_dir()}",
              "EMBEDDING_MODEL=all-MiniLM-L6-v2", f"EMBEDDING_MODEL_DIR={minilm_dir()}"]
    for var in ("LLM_MODEL_DIR", "EMBEDDING_MODEL_DIR"):
        env.pop(var)
    prepared = subprocess.run(["make", "models", *models], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=120)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr  # present: nothing to do
    assert "download" not in prepared.stdout

    port, rest, gw_port, web = free_port(), free_port(), free_port(), free_port()
    started = []
    try:
        serve = Started(["serve", *models, "CONFIG=servable_stream/config.json", f"PORT={port}",
                         f"REST_PORT={rest}"], env, tmp_path / "serve.log")
        started.append(serve)
        _wait(f"http://127.0.0.1:{rest}/v2/models/python_model/ready", serve.proc, serve.log, 180)

        gateway = Started(["gateway", f"OVMS_URL=127.0.0.1:{port}", f"GATEWAY_PORT={gw_port}",
                           "GATEWAY_HOST=127.0.0.1"], env, tmp_path / "gateway.log")
        client = Started(["client", f"WEB_URL=127.0.0.1:{web}", f"OVMS_URL=127.0.0.1:{port}"], env,
                         tmp_path / "client.log")
        started += [gateway, client]
        _wait(f"http://127.0.0.1:{gw_port}/health", gateway.proc, gateway.log, 60)
        models_listed = _wait(f"http://127.0.0.1:{gw_port}/v3/models", gateway.proc, gateway.log, 10)
        assert '"python_model"' in models_listed
        request = urllib.request.Request(
            f"http://127.0.0.1:{gw_port}/v3/chat/completions", method="POST",
            data=b'{"max_tokens": 4, "messages": [{"role": "user", "content": "Which river freezes?"}]}',
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as r:
            assert r.status == 200 and b'"rivers.md"' in r.read()
        page = _wait(f"http://127.0.0.1:{web}/", client.proc, client.log, 120)
        assert "gradio" in page.lower()
    finally:
        for s in reversed(started):
            s.stop()
