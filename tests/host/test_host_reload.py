"""Config reload as OVMS does it: config.json polled every second and POST
/v1/config/reload; a changed graph gets a fresh OvmsPythonModel from the module already
imported (not re-imported) and the old one is finalized once unused; a removed graph is
retired. Probe: tests/host/fixtures/reload_servable (numbered instances, events file)."""
import json
import shutil
import time

import pytest
import tritonclient.grpc as grpcclient
from host_helpers import (
    FIXTURES,
    StreamCollector,
    http,
    http_error,
    outputs_of,
    text_input,
)
from tritonclient.utils import InferenceServerException

from probes.host import start_host

pytestmark = pytest.mark.host


@pytest.fixture
def servable(tmp_path):
    folder = tmp_path / "servable"
    shutil.copytree(f"{FIXTURES}/reload_servable", folder)
    (tmp_path / "markers").mkdir()
    return folder


def start(folder, *args):
    host = start_host(folder / "config.json", env={"RELOAD_MARKERS": str(folder.parent / "markers")},
                      extra_args=args)
    return host.wait_ready(timeout=30)


def events(folder) -> list[str]:
    return (folder.parent / "markers" / "events.txt").read_text().splitlines()


def answer(host) -> str:
    c = grpcclient.InferenceServerClient(host.grpc_url)
    return c.infer("python_model", [text_input("who?")]).as_numpy("completion").tobytes().decode()


def change_graph(folder):
    graph = folder / "graph.pbtxt"
    graph.write_text(graph.read_text() + "\n# changed\n")
    touch_config(folder)


def touch_config(folder):
    config = folder / "config.json"
    config.write_text(config.read_text() + " ")  # same content, new MD5


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_polling_reloads_a_changed_graph_and_streams_keep_their_instance(servable):
    with start(servable) as host:
        assert answer(host) == "instance 1"
        s = StreamCollector(host.grpc_url)
        try:
            s.send("hold")
            assert outputs_of(s.next()[1]) == {"completion": b"instance 1 "}
            change_graph(servable)
            wait_for(lambda: "init 2" in events(servable))
            wait_for(lambda: host.log_text().count("is ready (state AVAILABLE)") == 2)
            assert answer(host) == "instance 2"
            assert outputs_of(s.next()[1]) == {"completion": b"instance 1 "}  # still the old one
            assert "finalize 1" not in events(servable)
        finally:
            s.close(cancel=True)
        wait_for(lambda: "finalize 1" in events(servable))
    assert events(servable)[:4] == ["import", "init 1", "init 2", "finalize 1"]  # imported once


def test_rest_reload_statuses_and_a_removed_graph(servable):
    with start(servable, "--file_system_poll_wait_seconds", "0") as host:
        status, body = http(host, "/v1/config/reload", b"")
        assert status == 200  # nothing changed
        assert json.loads(http(host, "/v2/models/python_model/status")[1]) == {"instance": 1}
        assert json.loads(body)["python_model"]["model_version_status"][0]["state"] == "AVAILABLE"
        change_graph(servable)
        assert http(host, "/v1/config/reload", b"")[0] == 201
        assert answer(host) == "instance 2"
        # the servable's status() is served from the instance that answers now
        assert json.loads(http(host, "/v2/models/python_model/versions/1/status")[1]) == {"instance": 2}
        broken = servable.parent / "markers" / "status_raises"
        broken.write_text("")
        assert http_error(host, "/v2/models/python_model/status") == (
            500, "status() failed: RuntimeError: status broke on purpose")
        broken.unlink()
        # idle: the old instance is finalized before the new one initializes, as in OVMS
        assert events(servable) == ["import", "init 1", "finalize 1", "init 2"]
        touch_config(servable)  # config.json changed, the graph did not: nothing reloads
        assert http(host, "/v1/config/reload", b"")[0] == 201
        assert answer(host) == "instance 2"

        (servable / "config.json").write_text("{not json")
        assert http_error(host, "/v1/config/reload", b"") == (
            412, "Reloading config file failed. Check server logs for more info.")
        assert answer(host) == "instance 2"  # an unusable config changes nothing

        (servable / "config.json").write_text('{"model_config_list": []}')
        status, body = http(host, "/v1/config/reload", b"")
        assert status == 201
        assert json.loads(body)["python_model"]["model_version_status"][0]["state"] == "END"
        assert http_error(host, "/v2/models/python_model/ready") == (
            404, "Model with requested version is not loaded yet")
        assert http_error(host, "/v2/models/python_model/status") == (
            404, "Model with requested version is not loaded yet")
        with pytest.raises(InferenceServerException) as e:
            answer(host)
        assert "NOT_FOUND" in str(e.value.status()) and e.value.message() == "Mediapipe is retired"
        assert events(servable)[-1] == "finalize 2"
