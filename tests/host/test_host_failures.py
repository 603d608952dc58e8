"""Failure modes: initialize raising, malformed graph, execute raising, shutdown."""
import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from host_helpers import StreamCollector, config, outputs_of, text_input
from hostproc import start_host


def status(host, path):
    try:
        with urllib.request.urlopen(host.rest_url + path, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_failing_initialize_keeps_host_live_but_model_not_ready():
    with start_host(config("failing_init")) as host:
        host.wait_server_ready(timeout=30)
        assert status(host, "/v2/health/live") == 200
        assert status(host, "/v2/models/python_model/ready") == 503
        c = grpcclient.InferenceServerClient(host.grpc_url)
        assert c.is_server_live() and not c.is_model_ready("python_model")
        with pytest.raises(InferenceServerException) as e:
            c.infer("python_model", [text_input("x")])
        assert "UNAVAILABLE" in str(e.value.status())
        log = host.log_text()
        assert "LLM folder /nowhere/model is missing" in log
        assert "NOT ready" in log


def test_malformed_graph_is_reported_with_file_and_line():
    with start_host(config("bad_graph")) as host:
        host.wait_server_ready(timeout=30)
        assert status(host, "/v2/health/live") == 200
        assert status(host, "/v2/models/python_model/ready") == 503
        assert "bad_graph/graph.pbtxt:12:" in host.log_text()


def test_execute_errors_reach_the_client_and_streams_stay_usable():
    with start_host(config("failing_exec")) as host:
        host.wait_ready(timeout=30)
        s = StreamCollector(host.grpc_url)
        try:
            s.send("boom")
            _, first, err = s.next()
            assert err is None and outputs_of(first)["completion"] == b"first"
            _, _, err = s.next()
            assert "generation exploded at token 2" in str(err)
            assert "Error occurred during graph execution" in str(err)
            s.send("now ok")  # the same stream still works
            events = s.until_end()
            assert all(e is None for _, _, e in events)
        finally:
            s.close()
        s = StreamCollector(host.grpc_url)  # and so does a new one
        try:
            s.send("ok")
            assert all(e is None for _, _, e in s.until_end())
        finally:
            s.close()
        c = grpcclient.InferenceServerClient(host.grpc_url)
        with pytest.raises(InferenceServerException) as e:
            c.infer("python_model", [text_input("typed")])
        assert "INVALID_ARGUMENT" in str(e.value.status())
        assert "question must not be empty" in e.value.message()
        with pytest.raises(InferenceServerException) as e:
            c.infer("python_model", [text_input("boom")])
        assert "INTERNAL" in str(e.value.status())
        assert "generation exploded" in e.value.message()


def test_sigterm_finalizes_and_exits_zero(tmp_path):
    host = start_host(config("echo_servable"), env={"ECHO_MARKER_DIR": str(tmp_path)})
    host.wait_ready(timeout=30)
    code = host.stop()
    assert code == 0, host.log_text()
    assert (tmp_path / "finalized").read_text() == "yes", host.log_text()
    assert "Shutdown complete" in host.log_text()


def test_sigterm_with_stream_in_flight_closes_generator_after_grace(tmp_path):
    host = start_host(config("echo_servable"),
                      env={"ECHO_MARKER_DIR": str(tmp_path), "ECHO_DELAY": "0.1",
                           "OVMS_HOST_SHUTDOWN_GRACE": "0.5"})
    host.wait_ready(timeout=30)
    s = StreamCollector(host.grpc_url)
    try:
        s.send("inflight " + "w " * 300)
        s.next()
        assert host.stop() == 0, host.log_text()
    finally:
        s.close()
    log = host.log_text()
    assert (tmp_path / "gen-inflight").read_text() == "closed", log
    assert "server shutting down" in log, log


def test_sigint_is_a_graceful_shutdown_too(tmp_path):
    import signal

    host = start_host(config("echo_servable"), env={"ECHO_MARKER_DIR": str(tmp_path)})
    host.wait_ready(timeout=30)
    host.proc.send_signal(signal.SIGINT)
    assert host.proc.wait(15) == 0, host.log_text()
    host.stop()
    assert (tmp_path / "finalized").read_text() == "yes", host.log_text()
    assert "Shutdown complete" in host.log_text()
