"""Malformed requests: each answered at once with a clear error; the server stays ready.

Who answers follows OVMS: what OVMS itself checks (input names, the graph name, inputs
present for unary) the host refuses with OVMS's status - a stream `error_message` or the
RPC's status, a unary gRPC status; everything else reaches the servable, which answers
in-band, in end_signal ({"error": {"code", "message"}, "finish_reason": "error"}), on
streams and unary calls alike (OVMS forwards no exception from execute).
"""
from __future__ import annotations

import json
import time

import pytest
from tritonclient.utils import InferenceServerException

from probes.kserve import KServeStream
from tests.reliability.conftest import (
    MODEL,
    ask,
    element_input,
    metrics,
    raw_input,
    requests_total,
    server_ready,
    stream_once,
    unary,
)

BIG = 32 * 1024 + 1
SERVABLE, HOST = "servable", "host"

CASES = {
    # id: (inputs, model, who answers, expected code, words the message must contain)
    "wrong input name": ([raw_input("hi", name="prompt")], MODEL, HOST, "INVALID_ARGUMENT",
                         ["Unexpected input", "prompt is unexpected"]),
    "wrong datatype": ([raw_input(b"\x00\x00\x80?", datatype="FP32")], MODEL, SERVABLE,
                       "INVALID_ARGUMENT", ["datatype FP32", "BYTES"]),
    "batch shape [2]": ([raw_input("hi", shape=(2,))], MODEL, SERVABLE, "INVALID_ARGUMENT", ["one prompt"]),
    "two elements": ([element_input("first?", "second?")], MODEL, SERVABLE, "INVALID_ARGUMENT",
                     ["one prompt"]),
    "empty question": ([raw_input("")], MODEL, SERVABLE, "INVALID_ARGUMENT", ["empty"]),
    "whitespace question": ([raw_input("  \n\t ")], MODEL, SERVABLE, "INVALID_ARGUMENT", ["empty"]),
    "empty JSON question": ([raw_input(ask("   "))], MODEL, SERVABLE, "INVALID_ARGUMENT", ["question"]),
    "non-UTF-8 bytes": ([raw_input(b"caf\xe9 \xff\xfe")], MODEL, SERVABLE, "INVALID_ARGUMENT", ["UTF-8"]),
    "oversized prompt": ([raw_input("a" * BIG)], MODEL, SERVABLE, "INVALID_ARGUMENT",
                         ["MAX_PROMPT_BYTES", str(BIG)]),
    "malformed JSON": ([raw_input('{"question": "x",')], MODEL, SERVABLE, "INVALID_ARGUMENT",
                       ["JSON", "malformed"]),
    "unknown JSON key": ([raw_input('{"question": "x", "system": "obey"}')], MODEL, SERVABLE,
                         "INVALID_ARGUMENT", ["unknown keys"]),
    "unknown model": ([raw_input("hi")], "no_such_model", HOST, "NOT_FOUND",
                      ["Mediapipe graph definition with requested name is not found"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_stream_request_gets_a_clear_error_at_once(main_host, case):
    inputs, model, who, code, words = CASES[case]
    s = KServeStream(main_host.grpc_url, inputs=inputs, model=model)
    try:
        kind, payload, at = s.finish(timeout=15)
    finally:
        s.close()
    assert at - s.started < 5, f"{case}: error after {at - s.started:.1f} s"
    assert not s.text, "no partial answer"
    if who == SERVABLE:
        assert kind == "fail", (case, s.got)
        assert payload["error"]["code"] == code and payload["finish_reason"] == "error"
        assert payload["answer"] == ""
        message = payload["error"]["message"]
    else:
        assert kind == "error", (case, s.got)
        message = payload
    for w in words:
        assert w.lower() in message.lower(), (case, message)


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_unary_request_gets_its_status_code(main_host, case):
    inputs, model, who, code, words = CASES[case]
    started = time.monotonic()
    if who == SERVABLE:  # in-band: the call itself succeeds
        text, end = unary(main_host.grpc_url, inputs, model=model)
        assert (text, end["finish_reason"], end["error"]["code"]) == ("", "error", code)
        message = end["error"]["message"]
    else:
        with pytest.raises(InferenceServerException) as e:
            unary(main_host.grpc_url, inputs, model=model)
        assert code in str(e.value.status()), (case, e.value.status(), e.value.message())
        message = e.value.message()
    assert time.monotonic() - started < 5
    for w in words:
        assert w.lower() in message.lower(), (case, message)


def test_a_request_without_inputs(main_host):
    """OVMS creates no packet for a stream request without inputs: the node does not run and
    nothing is written, the stream stays usable; unary says INVALID_NO_OF_INPUTS."""
    with pytest.raises(InferenceServerException) as e:
        unary(main_host.grpc_url, [])
    assert "INVALID_ARGUMENT" in str(e.value.status())
    assert e.value.message() == "Invalid number of inputs - Not all input packets created"
    s = KServeStream(main_host.grpc_url, inputs=[])
    try:
        s.client.async_stream_infer(model_name=MODEL, inputs=[raw_input(ask("What is a zorblat?",
                                                                            max_new_tokens=4))])
        last = s.finish(timeout=60)
    finally:
        s.close()
    assert last[0] == "end" and s.got[0][0] == "chunk", s.got  # the second request's answer


def test_server_stays_ready_and_counts_invalid_requests(main_host):
    before = requests_total(metrics(main_host), "invalid")
    for bad in ("", "  ", b"\xff"):
        s, last = stream_once(main_host.grpc_url, [raw_input(bad)], timeout=15)
        assert last[0] == "fail"
    assert requests_total(metrics(main_host), "invalid") >= before + 3
    assert server_ready(main_host)
    s, last = stream_once(main_host.grpc_url, [raw_input("What colour is the zorblat fruit?")])
    assert last[0] == "end", s.got
    assert main_host.proc.poll() is None


def test_rest_malformed_body_and_request(main_host):
    import urllib.error
    import urllib.request

    url = f"{main_host.rest_url}/v2/models/{MODEL}/infer"
    req = urllib.request.Request(url, data=b"{not json", method="POST",
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 412  # OVMS's JSON_INVALID
    assert json.loads(e.value.read())["error"].startswith("The file is not valid json")
    body = json.dumps({"inputs": [{"name": "pre_prompt", "shape": [1], "datatype": "BYTES",
                                   "data": ["   "]}]}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10) as r:
        outputs = {o["name"]: o for o in json.load(r)["outputs"]}
    end = json.loads(bytes(outputs["end_signal"]["data"]))
    assert end["error"]["code"] == "INVALID_ARGUMENT" and "empty" in end["error"]["message"]
