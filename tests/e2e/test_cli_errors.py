"""Bad requests through the real servable on the host reach the terminal client
(client/cli.py, run in-process so the clock covers the request, not Python's start-up) as a
readable error in under 2 s: the servable answers them in-band, as it must on real OVMS."""
from __future__ import annotations

import io
import time

import pytest

from client import cli

pytestmark = pytest.mark.host

MODEL = "python_model"


def run_cli(capsys, monkeypatch, *args, stdin: str = ""):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    started = time.monotonic()
    code = cli.main(list(args))
    elapsed = time.monotonic() - started
    out = capsys.readouterr()
    return code, out.out, out.err, elapsed


@pytest.mark.parametrize("args, stdin, words", [
    (("",), "", '"question" must be a non-empty string'),
    (("-",), "a" * 1_000_000, "pre_prompt is 1000035 bytes; the limit is 32768 (MAX_PROMPT_BYTES)"),
    (("--raw", '{"question": "x",'), "", "pre_prompt looks like a JSON object but is malformed"),
], ids=["empty prompt", "1 MB prompt", "malformed JSON"])
def test_a_bad_request_is_a_readable_error_at_once(rag_host, capsys, monkeypatch, args, stdin, words):
    code, out, err, elapsed = run_cli(capsys, monkeypatch, "--ovms_url", rag_host.grpc_url, *args,
                                      stdin=stdin)
    assert code == cli.EXIT_CLIENT_ERROR, (out, err)
    assert f"error: the model server reported an error (INVALID_ARGUMENT): " in err
    assert words in err and "Traceback" not in err
    assert elapsed < 2, f"{elapsed:.2f} s"
