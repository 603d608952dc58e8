"""Streaming (ModelStreamInfer) against a real host subprocess running the echo servable."""
import concurrent.futures
import json
import time

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

from host_helpers import StreamCollector, outputs_of, timestamp_of


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
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_timestamps_continue_across_requests_and_honour_request_parameter(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("a b")
        first = [timestamp_of(r) for _, r, _ in s.until_end()]
        s.send("c d")
        second = [timestamp_of(r) for _, r, _ in s.until_end()]
        s.send("e", parameters={"OVMS_MP_TIMESTAMP": 100})
        third = [timestamp_of(r) for _, r, _ in s.until_end()]
    finally:
        s.close()
    assert first == [0, 1, 2]
    assert second[0] > first[-1] and second == sorted(second)
    assert third == [100, 101]


def test_list_return_is_one_response(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("list:whole answer")
        _, result, error = s.next()
    finally:
        s.close()
    assert error is None
    outs = outputs_of(result)
    assert outs["completion"] == b"whole answer" and "end_signal" in outs


def test_busy_stream_refuses_second_request_and_keeps_generating(echo_host):
    s = StreamCollector(echo_host.grpc_url)
    errors, text = [], b""
    try:
        s.send("one two three four five six")
        s.send("intruder")
        while True:
            _, result, error = s.next()
            if error is not None:
                errors.append(str(error))
                continue
            outs = outputs_of(result)
            text += outs.get("completion", b"")
            if "end_signal" in outs:
                break
    finally:
        s.close()
    assert len(errors) == 1 and "Node is already processing data" in errors[0]
    assert text == b"one two three four five six"


def test_elementwise_bytes_and_raw_uint8_inputs(echo_host):
    channel = grpc.insecure_channel(echo_host.grpc_url)
    stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)
    req = service_pb2.ModelInferRequest(model_name="python_model")
    inp = req.inputs.add(name="pre_prompt", datatype="BYTES", shape=[1])
    inp.contents.bytes_contents.append("élément wise".encode())
    resp = stub.ModelInfer(req)
    outs = {o.name: resp.raw_output_contents[i] for i, o in enumerate(resp.outputs)}
    assert outs["completion"].decode() == "élément wise"
    meta = json.loads(outs["end_signal"])
    # element-wise BYTES arrive length-prefixed: 4 + len(data)
    assert meta["datatype"] == "BYTES" and meta["size"] == 4 + len("élément wise".encode())

    req = service_pb2.ModelInferRequest(model_name="python_model")
    req.inputs.add(name="pre_prompt", datatype="UINT8", shape=[8])
    req.raw_input_contents.append(b"raw text")
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
