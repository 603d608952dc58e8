"""The hub answers but refuses: a fake hub on 127.0.0.1 returns each refusal,
and download_model.py must turn it into one actionable line (exit 1)."""
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.host

REFUSALS = {  # mode -> (status, headers, expected words in the message)
    "gated": (403, {"X-Error-Code": "GatedRepo", "X-Error-Message": "restricted"},
              "accept its licence"),
    "bad-token": (401, {}, "invalid or expired"),
    "unknown-repo": (404, {"X-Error-Code": "RepoNotFound"}, "not found"),
    "server-error": (500, {}, "answered 500"),
}


@pytest.fixture()
def fake_hub():
    state = {"mode": "gated"}

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self):
            status, headers, _ = REFUSALS[state["mode"]]
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("mode", list(REFUSALS))
def test_refusal_is_one_actionable_line(mode, fake_hub, unreachable_hub_env, tmp_path):
    state, endpoint = fake_hub
    state["mode"] = mode
    env = dict(unreachable_hub_env, HF_ENDPOINT=endpoint, HF_TOKEN="hf_test")
    result = run_script("download_model.py", "--model", "llama-2-chat-7b",
                        "--output_dir", str(tmp_path / "out"), env=env, timeout=90)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and REFUSALS[mode][2] in lines[0], result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
