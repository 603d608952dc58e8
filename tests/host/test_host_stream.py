"""Streaming (ModelStreamInfer) against a real host subprocess running the probe servable."""
import concurrent.futures
import json
import time

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
from host_helpers import StreamCollector, ended, outputs_of, text_input, timestamp_of
from tritonclient.grpc import service_pb2, service_pb2_grpc


def test_chunks_arrive_incrementally_with_increasing_timestamps(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("alpha beta gamma delta epsilon")
        events = s.until_end()
    finally:
        s.close()
    assert all(e[2] is None for e in events)
    chunks = [outputs_of(r).get("completion") for _, r, _ in events[:-1]]
    assert b"".join(chunks).decode() == "alpha beta gamma delta epsilon"
    assert len(chunks) == 5
    end = json.loads(outputs_of(events[-1][1])["end_signal"])
    assert end["words"] == 5
    times = [t for t, _, _ in events]
    # the first word arrives well before the last (4 sleeps of 50 ms in between)
    assert times[-2] - times[0] > 0.1
    stamps = [timestamp_of(r) for _, r, _ in events]
    assert stamps == list(range(stamps[0], stamps[0] + 6))  # +1 per generator step


def test_timestamps_default_to_the_wall_clock_and_honour_the_request_parameter(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        before = time.time_ns() // 1000
        s.send("a b")
        first = [timestamp_of(r) for _, r, _ in s.until_end()]
        s.send("c d")
        second = [timestamp_of(r) for _, r, _ in s.until_end()]
        after = time.time_ns() // 1000
        s.send("e", parameters={"OVMS_MP_TIMESTAMP": after + 10_000_000})
        third = [timestamp_of(r) for _, r, _ in s.until_end()]
        s.send("f", parameters={"OVMS_MP_TIMESTAMP": 5})  # not after the previous request
        _, _, refused = s.next()
        s.send("g", parameters={"OVMS_MP_TIMESTAMP": "soon"})
        _, _, malformed = s.next()
    finally:
        s.close()
    # microseconds since the epoch (OVMS >= 2025.1), not 0, 1, 2
    assert before <= first[0] <= after and first == [first[0], first[0] + 1, first[0] + 2]
    assert first[-1] < second[0] <= after
    assert third == [after + 10_000_000, after + 10_000_001]
    assert not ended((0, None, refused)) and "Failed to add packet to mediapipe graph input " \
        "stream" in str(refused) and "partial deserialization of subsequent requests" in str(refused)
    assert "Malformed packet timestamp - Invalid timestamp format in request parameter " \
        "OVMS_MP_TIMESTAMP. Should be int64" in str(malformed)


def test_list_return_is_one_response_per_output_packet(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("list:whole answer")
        events = [s.next(), s.next()]
    finally:
        s.close()
    assert all(e[2] is None for e in events)
    outs = {}
    for _, result, _ in events:
        assert len(result.get_response().outputs) == 1  # each packet is its own response
        outs.update(outputs_of(result))
    assert outs["completion"] == b"whole answer" and "end_signal" in outs
    assert {timestamp_of(r) for _, r, _ in events} == {timestamp_of(events[0][1])}


def test_second_request_while_a_generator_runs_fails_the_graph(echo_host):
    """RESOURCE_EXHAUSTED "Node is already processing data" is a graph error: the running
    answer stops, nothing more is written, and the RPC ends at the half-close."""
    marker = echo_host.markers / "gen-one"
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("one " + " ".join(["word"] * 39))  # 40 words, ~2 s: the intruder comes first
        assert s.next()[2] is None  # the answer is running
        s.send("intruder")
        s.half_close()
        events = s.drain()
    finally:
        s.close()
    *answer, last = events
    assert all(e[2] is None and "end_signal" not in outputs_of(e[1]) for e in answer)
    assert len(answer) < 40
    assert ended(last) and "INVALID_ARGUMENT" in str(last[2].status())
    assert "Mediapipe execution failed. MP status - RESOURCE_EXHAUSTED" in last[2].message()
    assert "Node is already processing data" in last[2].message()
    assert marker.read_text() == "closed"
    assert not (echo_host.markers / "gen-intruder").exists()  # never executed


def test_list_mode_requests_on_one_stream_are_taken_in_turn(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("list:first")
        s.send("list:second")
        events = [s.next() for _ in range(4)]
    finally:
        s.close()
    texts = [outputs_of(r).get("completion") for _, r, e in events if e is None]
    assert [t for t in texts if t] == [b"first", b"second"]


def test_elementwise_bytes_and_raw_uint8_inputs(echo_host):
    channel = grpc.insecure_channel(echo_host.grpc_url)
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    req = service_pb2.ModelInferRequest(model_name="python_model")
    inp = req.inputs.add(name="pre_prompt", datatype="BYTES", shape=[1])
    inp.contents.bytes_contents.append("list:élément wise".encode())
    resp = stub.ModelInfer(req)
    outs = {o.name: resp.raw_output_contents[i] for i, o in enumerate(resp.outputs)}
    assert outs["completion"].decode() == "élément wise"
    meta = json.loads(outs["end_signal"])
    # element-wise BYTES arrive length-prefixed: 4 + len(data)
    assert meta["datatype"] == "BYTES" and meta["size"] == 4 + len("list:élément wise".encode())

    req = service_pb2.ModelInferRequest(model_name="python_model")
    req.inputs.add(name="pre_prompt", datatype="UINT8", shape=[13])
    req.raw_input_contents.append(b"list:raw text")
    resp = stub.ModelInfer(req)
    outs = {o.name: resp.raw_output_contents[i] for i, o in enumerate(resp.outputs)}
    assert outs["completion"] == b"raw text"
    assert json.loads(outs["end_signal"])["datatype"] == "UINT8"
    assert [o.datatype for o in resp.outputs] == ["UINT8", "UINT8"]
    channel.close()


def test_many_concurrent_streams(echo_host):
    def one(i):
        s = StreamCollector(echo_host.grpc_url)
        try:
            s.send(f"stream{i} x y")
            return b"".join(outputs_of(r).get("completion", b"") for _, r, _ in s.until_end())
        finally:
            s.close()
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        results = list(pool.map(one, range(24)))
    assert results == [f"stream{i} x y".encode() for i in range(24)]


def test_cancel_closes_generator(echo_host):
    marker = echo_host.markers / "gen-cancelme"
    s = StreamCollector(echo_host.grpc_url)
    s.send("cancelme " + " ".join(["w"] * 200))
    s.next()  # generation has started
    s.close(cancel=True)
    deadline = time.monotonic() + 5
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "closed"
    assert "closing the generator" in echo_host.log_text()
    assert "client cancelled or disconnected" in echo_host.log_text()


def test_first_request_naming_an_unknown_graph_ends_the_rpc(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("hello", model="no_such_graph")
        ev = s.next()
    finally:
        s.close()
    assert ended(ev) and "NOT_FOUND" in str(ev[2].status())
    assert ev[2].message() == "Mediapipe graph definition with requested name is not found"


def test_later_request_naming_another_graph_is_an_error_message(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("list:ok")
        s.next(), s.next()
        s.send("list:x", model="other_graph")
        ev = s.next()
        s.send("list:still served")
        after = [s.next(), s.next()]
    finally:
        s.close()
    assert not ended(ev) and str(ev[2]) == ("Subsequent request with incorrect servable name; "
                                            "validate subsequent requests")
    assert b"still served" in [outputs_of(r).get("completion") for _, r, _ in after]


def test_bad_inputs_get_an_error_message_and_the_stream_goes_on(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send_inputs([text_input("list:x", name="prompt")])
        unexpected = s.next()
        bad = grpcclient.InferInput("pre_prompt", [3], "FP32")
        bad._raw_content = np.zeros(2, np.float32).tobytes()  # 8 bytes for a shape of 3
        s.send_inputs([bad])
        size = s.next()
        s.send("list:fine")
        after = [s.next(), s.next()]
    finally:
        s.close()
    assert str(unexpected[2]) == ("Unexpected input - prompt is unexpected; partial "
                                  "deserialization of first request")
    assert str(size[2]).startswith("Invalid content size of tensor proto - Invalid Python tensor "
                                   "buffer size. Actual: 8; Expected: 12")
    assert b"fine" in [outputs_of(r).get("completion") for _, r, _ in after]


def test_a_request_without_inputs_runs_nothing(echo_host):
    """OVMS creates no packet for it, so the node never runs and nothing is written."""
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send_inputs([])
        s.send("list:next one")
        first = s.next()
    finally:
        s.close()
    # the first thing on the stream is the second request's answer
    assert first[2] is None and outputs_of(first[1]) == {"completion": b"next one"}
