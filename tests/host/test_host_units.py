"""In-process unit tests: pyovms shim, config/graph parsing, OVMS statuses, input rules."""
import json
import os

import grpc
import numpy as np
import pytest
from tritonclient.grpc import service_pb2

from ovms_host import config as cfg
from ovms_host import graph
from ovms_host.errors import GraphError, HostError, http_status, status_of
from ovms_host.shim.pyovms import Tensor
from ovms_host.tensors import (
    inputs_from_grpc,
    length_prefixed,
    request_from_json,
    split_length_prefixed,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("data,datatype", [
    (b"abc", "UINT8"), (np.zeros(3, np.float32), "FP32"), (np.zeros(2, np.int64), "INT32"),
    (np.zeros(2, np.uint64), "UINT32"), (np.zeros(2, np.float16), "FP16"),
    (np.zeros(2, np.bool_), "BOOL"), (np.zeros(2, np.int8), "INT8"),
    (np.zeros(2, np.uint16), "UINT16"), (np.zeros(2, np.int32), "INT32"),
    (np.zeros(2, np.float64), "FP64"), (np.zeros(2, np.longlong), "INT64"),
    (memoryview(b"ab").cast("c"), "c"),
])
def test_tensor_datatype_from_buffer_format_as_ovms_maps_it(data, datatype):
    """OVMS's bufferFormatToDatatype: "l" (numpy's int64 on Linux) is INT32, "L" UINT32, an
    unknown format is kept as the datatype."""
    assert Tensor("t", data).datatype == datatype


def test_tensor_keyword_is_buffer_and_name_is_read_only():
    t = Tensor(name="completion", buffer=b"hello", shape=[5], datatype="UINT8")
    assert (t.name, t.shape, t.size, bytes(t)) == ("completion", (5,), 5, b"hello")
    with pytest.raises(TypeError):
        Tensor("x", data=b"old keyword")
    with pytest.raises(AttributeError):
        t.name = "other"


def test_tensor_attributes_bytes_and_numpy():
    t = Tensor("completion", b"hello")
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


def write_config(tmp_path, data) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_config_resolves_paths_as_ovms(tmp_path):
    """base_path: default and "" -> <config dir>/<name>/, relative to the config's folder;
    graph_path: default graph.pbtxt, relative to base_path."""
    (tmp_path / "m" / "g").mkdir(parents=True)
    (tmp_path / "m" / "g" / "graph.pbtxt").write_text("")
    path = write_config(tmp_path, {
        "model_config_list": [{"config": {"name": "m", "base_path": "m/g"}},
                              {"config": {"name": "ir", "base_path": "/models/ir"}}],
        "mediapipe_config_list": [{"name": "a"}, {"name": "b", "base_path": ""},
                                  {"name": "c", "base_path": "g", "graph_path": "sub/other.pbtxt"},
                                  {"name": "d", "base_path": "/abs/d", "graph_path": "/abs/x.pbtxt"}]})
    entries = {e.name: e for e in cfg.read_config(path)}
    assert (entries["m"].base_path, entries["m"].graph_path) == (
        str(tmp_path / "m" / "g"), str(tmp_path / "m" / "g" / "graph.pbtxt"))
    assert entries["m"].listed_in == "model_config_list" and not entries["m"].unsupported
    assert "OpenVINO model" in entries["ir"].unsupported  # no graph: OVMS loads it as a model
    assert entries["a"].graph_path == str(tmp_path / "a" / "graph.pbtxt")
    assert entries["b"].base_path == str(tmp_path / "b")
    assert entries["c"].graph_path == str(tmp_path / "g" / "sub" / "other.pbtxt")
    assert (entries["d"].base_path, entries["d"].graph_path) == ("/abs/d", "/abs/x.pbtxt")


@pytest.mark.parametrize("data, words", [
    ({"mediapipe_config_list": [{"name": "a"}]}, '"model_config_list"'),
    ({"model_config_list": [], "mediapipe_config_list": [{"name": "a", "handler": "x"}]},
     "unknown keys ['handler']"),
    ({"model_config_list": [], "graphs": []}, "unknown keys ['graphs']"),
    ({"model_config_list": [{"name": "a"}]}, 'model_config_list[0] must be {"config"'),
    ({"model_config_list": [], "mediapipe_config_list": [{"name": "a"}, {"name": "a"}]},
     "listed twice"),
])
def test_config_follows_ovms_schema(tmp_path, data, words):
    with pytest.raises(cfg.ConfigError) as e:
        cfg.read_config(write_config(tmp_path, data))
    assert words in str(e.value)


def test_handler_path_resolves_against_base_path_not_the_graph_folder(tmp_path):
    base = tmp_path / "base"
    (base / "graphs").mkdir(parents=True)
    with open(os.path.join(REPO, "servable_stream", "graph.pbtxt"), encoding="utf-8") as f:
        (base / "graphs" / "g.pbtxt").write_text(f.read())
    entry = cfg.GraphEntry("m", str(base), str(base / "graphs" / "g.pbtxt"))
    assert graph.load_graph(entry).node.handler_path == str(base / "model.py")


def test_servable_stream_graph_parses_as_ovms_layout():
    entry = cfg.read_config(os.path.join(REPO, "servable_stream", "config.json"))[0]
    spec = graph.load_graph(entry)
    assert (spec.name, spec.input_names, spec.output_names) == (
        "python_model", ["pre_prompt"], ["completion", "end_signal"])
    assert spec.node.handler_path == os.path.join(REPO, "servable_stream", "model.py")
    assert spec.node.has_loopback
    assert [s.name for s in spec.node.inputs] == ["loopback", "pre_prompt"]


def test_malformed_graph_error_names_file_and_line():
    with pytest.raises(cfg.ConfigError) as e:
        graph.parse_graph_text('input_stream: "a"\nnode {\n  calculatr: "X"\n}\n', "/g.pbtxt")
    assert str(e.value).startswith("/g.pbtxt:3:") and "calculatr" in str(e.value)


def test_graph_without_python_node_is_refused(tmp_path):
    (tmp_path / "graph.pbtxt").write_text(
        'input_stream: "in"\noutput_stream: "out"\nnode { calculator: "PassThroughCalculator" '
        'input_stream: "in" output_stream: "out" }\n')
    with pytest.raises(cfg.ConfigError, match="PythonExecutorCalculator"):
        graph.load_graph(cfg.GraphEntry("m", str(tmp_path), str(tmp_path / "graph.pbtxt")))


def test_statuses_are_ovms_codes_and_texts():
    e = HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_YET")
    assert status_of(e) == (grpc.StatusCode.UNAVAILABLE, "Mediapipe is not loaded yet")
    e = HostError("MODEL_VERSION_NOT_LOADED_YET")
    assert (http_status(e), e.message) == (404, "Model with requested version is not loaded yet")
    e = HostError("INVALID_UNEXPECTED_INPUT", "x is unexpected")
    assert e.with_context("partial deserialization of first request") == (
        "Unexpected input - x is unexpected; partial deserialization of first request")
    g = GraphError("INTERNAL", "node")
    assert status_of(g) == (grpc.StatusCode.INVALID_ARGUMENT, "Mediapipe execution failed. MP status "
                            "- INTERNAL: Calculator::Process() for node \"node\" failed: Error "
                            "occurred during graph execution")
    assert http_status(g) == 400


def test_a_servable_grpc_status_attribute_maps_to_nothing():
    """OVMS never forwards a Python exception's status: the graph just fails."""
    class Busy(Exception):
        grpc_status = "RESOURCE_EXHAUSTED"
    code, message = status_of(Busy("too many"))
    assert code == grpc.StatusCode.UNKNOWN and message.startswith("Unknown error")


def request(*inputs, raw=True):
    r = service_pb2.ModelInferRequest(model_name="m")
    for name, datatype, shape, data in inputs:
        t = r.inputs.add(name=name, datatype=datatype, shape=shape)
        if raw:
            r.raw_input_contents.append(data)
        else:
            t.contents.bytes_contents.extend(data)
    return r


def test_input_rules_follow_ovms_deserialization():
    allowed = ["pre_prompt", "other"]
    ok = inputs_from_grpc(request(("pre_prompt", "BYTES", [1], b"x"), ("other", "BYTES", [1], b"y")), allowed)
    assert ok.error is None and [t.name for t in ok.tensors] == ["pre_prompt", "other"]
    # inputs are taken in order; the first bad one stops the rest, earlier ones stay
    partial = inputs_from_grpc(request(("pre_prompt", "BYTES", [1], b"x"), ("nope", "BYTES", [1], b"")), allowed)
    assert [t.name for t in partial.tensors] == ["pre_prompt"]
    assert partial.error.message == "Unexpected input - nope is unexpected"
    size = inputs_from_grpc(request(("pre_prompt", "FP32", [2], b"1234")), allowed).error
    assert size.message == ("Invalid content size of tensor proto - Invalid Python tensor buffer "
                            "size. Actual: 4; Expected: 8")
    custom = inputs_from_grpc(request(("pre_prompt", "CUSTOM", [1], [b"x"]), raw=False), allowed)
    assert custom.error.status == "INVALID_PRECISION"
    r = request(("pre_prompt", "BYTES", [1], b"x"))
    r.raw_input_contents.append(b"extra")
    assert inputs_from_grpc(r, allowed).error.message.endswith(
        "Size of raw_input_contents: 2 is different than number of inputs: 1")
    assert inputs_from_grpc(request(), allowed).tensors == []  # no inputs: no packets, no error
    elementwise = inputs_from_grpc(request(("pre_prompt", "BYTES", [2], [b"ab", b"c"]), raw=False), allowed)
    assert bytes(elementwise.tensors[0]) == length_prefixed([b"ab", b"c"])


def test_rest_body_becomes_a_request():
    r = request_from_json({"id": "7", "inputs": [{"name": "pre_prompt", "shape": [1],
                                                  "datatype": "BYTES", "data": ["hé"]}]}, "m")
    assert (r.id, r.inputs[0].contents.bytes_contents[0]) == ("7", "hé".encode())
    with pytest.raises(HostError) as e:
        request_from_json({"inputs": []}, "m")
    assert e.value.message == "Invalid JSON structure, missing inputs"
    with pytest.raises(HostError) as e:
        request_from_json([1], "m")
    assert e.value.status == "REST_BODY_IS_NOT_AN_OBJECT"


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


def test_a_client_hanging_up_is_no_traceback_and_the_server_serves_on(capfd):
    import urllib.request

    from tests.local_http import hang_up_mid_request

    from ovms_host.registry import Registry
    from ovms_host.rest import Response, RestServer, Route

    route = Route("GET", r"/ping", lambda req, m: Response(200, b"pong", "text/plain"))
    server = RestServer(Registry("/nonexistent.json"), 0, host="127.0.0.1", extra_routes=[route])
    server.start()
    try:
        port = server.httpd.server_address[1]
        hang_up_mid_request(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=5) as r:
            assert r.read() == b"pong"
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err


def test_metrics_route_serves_the_default_registry():
    from prometheus_client import Counter

    from ovms_host.metrics import metrics_route

    Counter("ovms_host_unit_test_hits", "a test counter").inc()
    route = metrics_route()
    resp = route.handler(None, route.regex.match("/metrics"))
    assert resp.status == 200 and resp.content_type.startswith("text/plain")
    assert b"ovms_host_unit_test_hits_total 1.0" in resp.body
