"""Health, metadata, unary infer over gRPC and REST against the echo servable."""
import json
import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from host_helpers import text_input


def http(host, path, body=None):
    req = urllib.request.Request(host.rest_url + path, data=body,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_grpc_health_and_metadata(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    assert c.is_server_live() and c.is_server_ready()
    assert c.is_model_ready("python_model")
    assert "OpenVINO Model Server" in c.get_server_metadata().name
    md = c.get_model_metadata("python_model")
    assert [i.name for i in md.inputs] == ["pre_prompt"]
    assert [o.name for o in md.outputs] == ["completion", "end_signal"]
    with pytest.raises(InferenceServerException) as e:
        c.get_model_metadata("nope")
    assert "NOT_FOUND" in str(e.value.status())


def test_initialize_kwargs(echo_host):
    kwargs = json.loads((echo_host.markers / "init_kwargs.json").read_text())
    assert kwargs["node_name"] == "python_model"
    assert kwargs["input_names"] == ["loopback", "pre_prompt"]
    assert kwargs["output_names"] == ["loopback", "completion", "end_signal"]
    assert kwargs["base_path"].endswith("echo_servable")


def test_unary_infer_gathers_the_whole_answer(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    r = c.infer("python_model", [text_input("gather all these words")])
    assert r.as_numpy("completion").tobytes().decode() == "gather all these words"
    assert json.loads(r.as_numpy("end_signal").tobytes())["words"] == 4
    with pytest.raises(InferenceServerException) as e:
        c.infer("unknown_model", [text_input("x")])
    assert "NOT_FOUND" in str(e.value.status())


def test_rest_endpoints(echo_host):
    assert http(echo_host, "/v2/health/live")[0] == 200
    assert http(echo_host, "/v2/health/ready")[0] == 200
    status, body = http(echo_host, "/v2")
    assert status == 200 and "OpenVINO Model Server" in json.loads(body)["name"]
    assert http(echo_host, "/v2/models/python_model/ready")[0] == 200
    assert http(echo_host, "/v2/models/python_model/versions/1/ready")[0] == 200
    assert http(echo_host, "/v2/models/nope/ready")[0] == 404
    status, body = http(echo_host, "/v2/models/python_model")
    assert status == 200 and json.loads(body)["inputs"][0]["name"] == "pre_prompt"
    status, body = http(echo_host, "/v1/config")
    assert json.loads(body)["python_model"]["model_version_status"][0]["state"] == "AVAILABLE"
    assert http(echo_host, "/no/such/route")[0] == 404


def test_rest_infer(echo_host):
    body = json.dumps({"id": "r1", "inputs": [{"name": "pre_prompt", "shape": [1],
                                               "datatype": "BYTES", "data": ["rest call"]}]})
    status, raw = http(echo_host, "/v2/models/python_model/infer", body.encode())
    assert status == 200, raw
    resp = json.loads(raw)
    outs = {o["name"]: o for o in resp["outputs"]}
    assert bytes(outs["completion"]["data"]).decode() == "rest call"
    assert resp["id"] == "r1"
    status, raw = http(echo_host, "/v2/models/python_model/infer", b"{not json")
    assert status == 400
