"""Health, metadata, unary infer over gRPC and REST against the probe servable."""
import json

import pytest
import tritonclient.grpc as grpcclient
from host_helpers import http, http_error, text_input
from tritonclient.utils import InferenceServerException


def test_grpc_health_and_metadata_of_a_graph(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    assert c.is_server_live() and c.is_server_ready()
    assert c.is_model_ready("python_model")
    assert "OpenVINO Model Server" in c.get_server_metadata().name
    md = c.get_model_metadata("python_model")
    assert (md.name, list(md.versions), md.platform) == ("python_model", ["1"], "OpenVINO")
    # a graph's streams have no declared types: INVALID, shape [], in name order
    assert [(i.name, i.datatype, list(i.shape)) for i in md.inputs] == [("pre_prompt", "INVALID", [])]
    assert [(o.name, o.datatype, list(o.shape)) for o in md.outputs] == [
        ("completion", "INVALID", []), ("end_signal", "INVALID", [])]
    for call in (c.get_model_metadata, c.is_model_ready):
        with pytest.raises(InferenceServerException) as e:
            call("nope")
        assert "NOT_FOUND" in str(e.value.status())
        assert e.value.message() == "Model with requested name is not found"


def test_initialize_kwargs(echo_host):
    kwargs = json.loads((echo_host.markers / "init_kwargs.json").read_text())
    assert kwargs["node_name"] == "python_model"
    assert kwargs["input_names"] == ["loopback", "pre_prompt"]
    assert kwargs["output_names"] == ["loopback", "completion", "end_signal"]
    assert kwargs["base_path"].endswith("echo_servable")


def test_unary_infer_on_a_generator_returns_its_first_packet_per_output(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    r = c.infer("python_model", [text_input("gather all these words")])
    assert r.as_numpy("completion").tobytes().decode() == "gather"  # not the whole answer
    assert json.loads(r.as_numpy("end_signal").tobytes())["words"] == 4  # it ran to the end
    assert r.get_response().parameters["OVMS_MP_TIMESTAMP"].int64_param > 10 ** 15
    with pytest.raises(InferenceServerException) as e:
        c.infer("unknown_model", [text_input("x")])
    assert "NOT_FOUND" in str(e.value.status())
    assert e.value.message() == "Mediapipe graph definition with requested name is not found"


def test_unary_fails_when_an_output_got_no_packet(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    with pytest.raises(InferenceServerException) as e:
        c.infer("python_model", [text_input("silent:")])  # only end_signal, no completion
    assert "INVALID_ARGUMENT" in str(e.value.status())
    assert e.value.message() == ("Mediapipe execution failed. MP status - Unknown error during "
                                 "mediapipe execution")


def test_unary_needs_every_graph_input(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    with pytest.raises(InferenceServerException) as e:
        c.infer("python_model", [])
    assert "INVALID_ARGUMENT" in str(e.value.status())
    assert e.value.message() == "Invalid number of inputs - Not all input packets created"
    with pytest.raises(InferenceServerException) as e:
        c.infer("python_model", [text_input("x", name="prompt")])
    assert e.value.message() == "Unexpected input - prompt is unexpected"


def test_rest_endpoints(echo_host):
    assert http(echo_host, "/v2/health/live")[0] == 200
    assert http(echo_host, "/v2/health/ready")[0] == 200
    status, body = http(echo_host, "/v2")
    assert status == 200 and "OpenVINO Model Server" in json.loads(body)["name"]
    assert http(echo_host, "/v2/models/python_model/ready")[0] == 200
    assert http(echo_host, "/v2/models/python_model/versions/1/ready")[0] == 200
    assert http_error(echo_host, "/v2/models/nope/ready") == (404, "Model with requested name is not found")
    status, body = http(echo_host, "/v2/models/python_model")
    assert status == 200 and json.loads(body)["inputs"] == [
        {"name": "pre_prompt", "datatype": "INVALID", "shape": []}]
    status, body = http(echo_host, "/v1/config")
    assert json.loads(body)["python_model"]["model_version_status"][0]["state"] == "AVAILABLE"
    assert http(echo_host, "/no/such/route")[0] == 404
    # the status extension: the echo servable defines no status(), an unknown model is unknown
    status, error = http_error(echo_host, "/v2/models/python_model/status")
    assert status == 404 and "publishes no status" in error
    assert http_error(echo_host, "/v2/models/nope/status") == (404, "Model with requested name is not found")
    assert http(echo_host, "/v2/models/python_model/status", b"")[0] == 405


def test_rest_infer(echo_host):
    body = json.dumps({"id": "r1", "inputs": [{"name": "pre_prompt", "shape": [1],
                                               "datatype": "BYTES", "data": ["rest call"]}]})
    status, raw = http(echo_host, "/v2/models/python_model/infer", body.encode())
    assert status == 200, raw
    resp = json.loads(raw)
    outs = {o["name"]: o for o in resp["outputs"]}
    assert bytes(outs["completion"]["data"]).decode() == "rest"  # the first packet
    assert json.loads(bytes(outs["end_signal"]["data"]))["words"] == 2
    assert resp["id"] == "r1"
    status, error = http_error(echo_host, "/v2/models/python_model/infer", b"{not json")
    assert status == 412 and error.startswith("The file is not valid json")
    body = json.dumps({"inputs": [{"name": "pre_prompt", "shape": [1], "datatype": "BYTES",
                                   "data": ["raise:"]}]}).encode()
    status, error = http_error(echo_host, "/v2/models/python_model/infer", body)
    assert status == 400 and error.startswith("Mediapipe execution failed. MP status - INTERNAL")
