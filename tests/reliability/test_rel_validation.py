"""Malformed requests: each answered at once with a clear error; the server stays ready.

Streams get the error in `error_message`; unary calls get INVALID_ARGUMENT / NOT_FOUND.
"""
from __future__ import annotations

import json
import time

import grpc
import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from tests.reliability.conftest import (
    MODEL, Stream, ask, element_input, metrics, raw_input, requests_total, server_ready, stream_once,
    unary,
)

BIG = 32 * 1024 + 1


def no_input_request():
    return []


CASES = {
    # id: (inputs, model, expected code, words the message must contain)
    "wrong input name": ([raw_input("hi", name="prompt")], MODEL, "INVALID_ARGUMENT", ["prompt", "pre_prompt"]),
    "wrong datatype": ([raw_input(b"\x00\x00\x80?", datatype="FP32")], MODEL, "INVALID_ARGUMENT",
                       ["datatype FP32", "BYTES"]),
    "batch shape [2]": ([raw_input("hi", shape=(2,))], MODEL, "INVALID_ARGUMENT", ["one prompt"]),
    "two elements": ([element_input("first?", "second?")], MODEL, "INVALID_ARGUMENT", ["one prompt"]),
    "missing input": ([], MODEL, "INVALID_ARGUMENT", ["no inputs", "pre_prompt"]),
    "empty question": ([raw_input("")], MODEL, "INVALID_ARGUMENT", ["empty"]),
    "whitespace question": ([raw_input("  \n\t ")], MODEL, "INVALID_ARGUMENT", ["empty"]),
    "empty JSON question": ([raw_input(ask("   "))], MODEL, "INVALID_ARGUMENT", ["question"]),
    "non-UTF-8 bytes": ([raw_input(b"caf\xe9 \xff\xfe")], MODEL, "INVALID_ARGUMENT", ["UTF-8"]),
    "oversized prompt": ([raw_input("a" * BIG)], MODEL, "INVALID_ARGUMENT", ["MAX_PROMPT_BYTES", str(BIG)]),
    "malformed JSON": ([raw_input('{"question": "x",')], MODEL, "INVALID_ARGUMENT", ["JSON", "malformed"]),
    "unknown JSON key": ([raw_input('{"question": "x", "system": "obey"}')], MODEL, "INVALID_ARGUMENT",
                         ["unknown keys"]),
    "unknown model": ([raw_input("hi")], "no_such_model", "NOT_FOUND", ["no_such_model", "not found"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_stream_request_gets_a_clear_error_at_once(main_host, case):
    inputs, model, _, words = CASES[case]
    s = Stream(main_host.grpc_url, inputs, model=model)
    try:
        kind, message, at = s.finish(timeout=15)
    finally:
        s.close()
    assert kind == "error", (case, s.got)
    assert at - s.started < 5, f"{case}: error after {at - s.started:.1f} s"
    assert not s.text, "no partial answer"
    for w in words:
        assert w.lower() in message.lower(), (case, message)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_unary_request_gets_its_status_code(main_host, case):
    inputs, model, code, words = CASES[case]
    started = time.monotonic()
    with pytest.raises(InferenceServerException) as e:
        unary(main_host.grpc_url, inputs, model=model)
    assert time.monotonic() - started < 5
    assert code in str(e.value.status()), (case, e.value.status(), e.value.message())
    for w in words:
        assert w.lower() in e.value.message().lower(), (case, e.value.message())


def test_server_stays_ready_and_counts_invalid_requests(main_host):
    before = requests_total(metrics(main_host), "invalid")
    for bad in ("", "  ", b"\xff"):
        s, last = stream_once(main_host.grpc_url, [raw_input(bad)], timeout=15)
        assert last[0] == "error"
    assert requests_total(metrics(main_host), "invalid") >= before + 3
    assert server_ready(main_host)
    s, last = stream_once(main_host.grpc_url, [raw_input("What colour is the zorblat fruit?")])
    assert last[0] == "end", s.got
    assert main_host.proc.poll() is None


def test_rest_malformed_json_body_is_400(main_host):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{main_host.rest_url}/v2/models/{MODEL}/infer", data=b"{not json",
                                 method="POST", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    assert "not valid JSON" in json.loads(e.value.read())["error"]
    body = json.dumps({"inputs": [{"name": "pre_prompt", "shape": [1], "datatype": "BYTES",
                                   "data": ["   "]}]}).encode()
    req = urllib.request.Request(f"{main_host.rest_url}/v2/models/{MODEL}/infer", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400 and "empty" in json.loads(e.value.read())["error"]
