"""client/cli.py as a user runs it: a subprocess against the fixture host."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "client" / "cli.py"


def run_cli(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the script finds client/ itself
    return subprocess.run([sys.executable, str(CLI), *args], input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env, cwd="/")


def test_prints_answer_then_numbered_sources(ovms_url):
    done = run_cli("--ovms_url", ovms_url, "what is it?")
    assert done.returncode == 0, done.stderr
    answer, sources = done.stdout.split("Sources:\n")
    assert answer.strip() == "Echo: what is it? | history turns: 0 | end"
    assert sources.splitlines() == [
        "  [1] https://example.com/guide.html - Fixture guide [score 0.910] (cited)",
        "  [2] /data/manual.pdf (page 3) - Fixture manual [score 0.420]",
    ]


def test_history_session_sends_previous_turns(ovms_url):
    done = run_cli("--ovms_url", ovms_url, "--history", "first", stdin="second\nthird\n")
    assert done.returncode == 0, done.stderr
    assert "Echo: first | history turns: 0 | end" in done.stdout
    assert "Echo: second | history turns: 2 | end" in done.stdout
    assert "Echo: third | history turns: 4 | end" in done.stdout


def test_server_error_is_a_message_and_exit_code(ovms_url):
    done = run_cli("--ovms_url", ovms_url, "error now")
    assert done.returncode == 2
    assert "error: the model server reported an error" in done.stderr
    assert "fixture exploded on purpose" in done.stderr
    assert "Traceback" not in done.stderr


def test_server_down_is_a_message_and_exit_code(closed_port_url):
    done = run_cli("--ovms_url", closed_port_url, "anyone?", timeout=15)
    assert done.returncode == 2
    assert f"cannot reach the model server at {closed_port_url}" in done.stderr
    assert "Traceback" not in done.stderr
