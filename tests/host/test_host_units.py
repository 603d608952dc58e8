"""In-process unit tests: pyovms shim, graph/config parsing, error mapping, BYTES layout."""
import json
import os

import grpc
import numpy as np
import pytest

from ovms_host import config as cfg
from ovms_host.errors import HostError, status_of
from ovms_host.shim.pyovms import Tensor
from ovms_host.tensors import concat, length_prefixed, split_length_prefixed, to_out

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("data,datatype", [
    (b"abc", "UINT8"), (np.zeros(3, np.float32), "FP32"), (np.zeros(2, np.int64), "INT64"),
    (np.zeros(2, np.uint64), "UINT64"), (np.zeros(2, np.float16), "FP16"),
    (np.zeros(2, np.bool_), "BOOL"), (np.zeros(2, np.int8), "INT8"),
    (np.zeros(2, np.uint16), "UINT16"), (np.zeros(2, np.int32), "INT32"),
    (np.zeros(2, np.float64), "FP64"),
])
def test_tensor_datatype_from_buffer_format(data, datatype):
    assert Tensor("t", data).datatype == datatype


def test_tensor_attributes_bytes_and_numpy():
    t = Tensor("completion", b"hello")
    assert (t.name, t.shape, t.size, bytes(t)) == ("completion", (5,), 5, b"hello")
    assert isinstance(t.data, memoryview)
    assert np.array(t).tobytes().decode() == "hello"
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor("x", a)
    assert t.shape == (2, 3) and np.array_equal(np.array(t), a)
    t = Tensor("b", b"\x01\x00\x00\x00z", shape=[1], datatype="BYTES")
    assert (t.datatype, t.shape) == ("BYTES", (1,))
    with pytest.raises(TypeError):
        Tensor("bad", "a str has no buffer")


def test_length_prefixed_round_trip():
    buf = length_prefixed([b"ab", b"", b"xyz"])
    assert buf == b"\x02\x00\x00\x00ab\x00\x00\x00\x00\x03\x00\x00\x00xyz"
    assert split_length_prefixed(buf) == [b"ab", b"", b"xyz"]


def test_concat_joins_chunks_in_order():
    out = concat([to_out(Tensor("c", b"ab")), to_out(Tensor("c", b"cde"))])
    assert (out.data, out.shape, out.datatype) == (b"abcde", (5,), "UINT8")


def test_config_resolves_base_path_and_graph_path(tmp_path):
    (tmp_path / "g").mkdir()
    (tmp_path / "config.json").write_text(json.dumps({"model_config_list": [],
        "mediapipe_config_list": [{"name": "a", "base_path": "g"},
                                  {"name": "b", "graph_path": "g/other.pbtxt"}]}))
    entries = cfg.read_config(str(tmp_path / "config.json"))
    assert [e.graph_path for e in entries] == [str(tmp_path / "g" / "graph.pbtxt"),
                                               str(tmp_path / "g" / "other.pbtxt")]


def test_servable_stream_graph_parses_as_ovms_layout():
    entry = cfg.read_config(os.path.join(REPO, "servable_stream", "config.json"))[0]
    spec = cfg.load_graph(entry)
    assert (spec.name, spec.input_names, spec.output_names) == (
        "python_model", ["pre_prompt"], ["completion", "end_signal"])
    assert spec.node.handler_path == os.path.join(REPO, "servable_stream", "model.py")
    assert spec.node.has_loopback
    assert [s.name for s in spec.node.inputs] == ["loopback", "pre_prompt"]


def test_malformed_graph_error_names_file_and_line():
    with pytest.raises(cfg.ConfigError) as e:
        cfg.parse_graph_text('input_stream: "a"\nnode {\n  calculatr: "X"\n}\n', "/g.pbtxt")
    assert str(e.value).startswith("/g.pbtxt:3:") and "calculatr" in str(e.value)


def test_graph_without_python_node_is_refused(tmp_path):
    (tmp_path / "graph.pbtxt").write_text(
        'input_stream: "in"\noutput_stream: "out"\nnode { calculator: "PassThroughCalculator" '
        'input_stream: "in" output_stream: "out" }\n')
    with pytest.raises(cfg.ConfigError, match="PythonExecutorCalculator"):
        cfg.load_graph(cfg.GraphEntry("m", str(tmp_path / "graph.pbtxt")))


def test_status_mapping():
    class Busy(Exception):
        grpc_status = "RESOURCE_EXHAUSTED"
    assert status_of(Busy("too many")) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "too many")
    code, msg = status_of(ValueError("boom"))
    assert code == grpc.StatusCode.INTERNAL and msg.endswith(": boom")
    assert "Error occurred during graph execution" in msg
    assert status_of(HostError(grpc.StatusCode.NOT_FOUND, "nope"))[0] == grpc.StatusCode.NOT_FOUND


def test_rest_extra_routes_hook():
    import urllib.request

    from ovms_host.registry import Registry
    from ovms_host.rest import Response, RestServer, Route

    route = Route("GET", r"/metrics", lambda req, m: Response(200, b"up 1\n", "text/plain"))
    server = RestServer(Registry("/nonexistent.json"), 0, host="127.0.0.1",
                        extra_routes=[route])
    server.start()
    try:
        port = server.httpd.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.read() == b"up 1\n" and r.headers["Content-Type"] == "text/plain"
    finally:
        server.stop()


def test_inputs_must_be_complete_known_and_unique():
    from tritonclient.grpc import service_pb2

    from ovms_host.tensors import inputs_from_grpc, inputs_from_json

    def request(*names):
        r = service_pb2.ModelInferRequest(model_name="m")
        for n in names:
            r.inputs.add(name=n, datatype="BYTES", shape=[1])
            r.raw_input_contents.append(b"x")
        return r

    allowed = ["pre_prompt", "other"]
    assert len(inputs_from_grpc(request("pre_prompt", "other"), allowed)) == 2
    for names, words in ((("pre_prompt",), "Missing input 'other'"),
                         (("pre_prompt", "pre_prompt", "other"), "more than once"),
                         (("nope",), "Unexpected input name 'nope'"), ((), "no inputs")):
        with pytest.raises(HostError, match=words) as e:
            inputs_from_grpc(request(*names), allowed)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(HostError, match="Missing input 'other'"):
        inputs_from_json({"inputs": [{"name": "pre_prompt", "datatype": "BYTES", "data": ["x"]}]},
                         allowed)
    with pytest.raises(HostError, match="must be an object"):
        inputs_from_json({"inputs": ["pre_prompt"]}, allowed)


def test_metrics_route_serves_the_default_registry():
    from prometheus_client import Counter

    from ovms_host.metrics import metrics_route

    Counter("ovms_host_unit_test_hits", "a test counter").inc()
    route = metrics_route()
    resp = route.handler(None, route.regex.match("/metrics"))
    assert resp.status == 200 and resp.content_type.startswith("text/plain")
    assert b"ovms_host_unit_test_hits_total 1.0" in resp.body
