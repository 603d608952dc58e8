"""config.json path rules through a running host (fixture tests/host/fixtures/paths):
graphs in model_config_list and mediapipe_config_list, base_path defaulting to
<config dir>/<name>/, graph_path relative to base_path, handler_path relative to base_path."""
import json
import os

import pytest
import tritonclient.grpc as grpcclient
from host_helpers import FIXTURES, config, http_error, text_input

from probes.host import start_host

pytestmark = pytest.mark.host

ROOT = os.path.join(FIXTURES, "paths")


@pytest.fixture(scope="module")
def paths_host():
    with start_host(config("paths")) as host:
        host.wait_server_ready(timeout=30)
        yield host


def where(host, graph):
    c = grpcclient.InferenceServerClient(host.grpc_url)
    return json.loads(c.infer(graph, [text_input("?", name="in")]).as_numpy("out").tobytes())


@pytest.mark.parametrize("graph, base, module", [
    ("listed_as_model", "graphs/listed/code", "paths_probe"),        # from model_config_list
    ("default_base", "shared", "paths_probe_shared"),                # base <config dir>/<name>/
    ("graph_rel_base", "graphs/relbase/code", "relbase_probe"),      # graph and handler under base
])
def test_each_graph_is_found_where_ovms_looks(paths_host, graph, base, module):
    info = where(paths_host, graph)
    assert info["base_path"] == os.path.join(ROOT, base) and info["module"] == module


def test_a_model_config_list_entry_without_a_graph_is_not_served(paths_host):
    assert http_error(paths_host, "/v2/models/an_ir_model/ready")[0] == 404
    assert "an OpenVINO model; this host serves MediaPipe graphs only" in paths_host.log_text()
