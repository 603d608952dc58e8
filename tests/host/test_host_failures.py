"""Failure modes: initialize raising, malformed graph, execute failing, shutdown."""
import time

import pytest
import tritonclient.grpc as grpcclient
from host_helpers import (
    StreamCollector,
    config,
    ended,
    http_error,
    outputs_of,
    text_input,
)
from tritonclient.utils import InferenceServerException

from probes.host import start_host

pytestmark = pytest.mark.host

GRAPH_FAILED = "Mediapipe execution failed. MP status - INTERNAL"


def test_failing_initialize_keeps_host_live_but_model_not_ready():
    with start_host(config("failing_init")) as host:
        host.wait_server_ready(timeout=30)
        assert http_error(host, "/v2/health/live")[0] == 200
        assert http_error(host, "/v2/models/python_model/ready") == (
            404, "Model with requested version is not loaded yet")
        c = grpcclient.InferenceServerClient(host.grpc_url)
        assert c.is_server_live() and not c.is_model_ready("python_model")
        with pytest.raises(InferenceServerException) as e:
            c.infer("python_model", [text_input("x")])
        assert "UNAVAILABLE" in str(e.value.status())
        assert e.value.message() == "Mediapipe is not loaded yet"
        s = StreamCollector(host.grpc_url)  # the first stream request ends the RPC
        try:
            s.send("x")
            ev = s.next()
        finally:
            s.close()
        assert ended(ev) and "UNAVAILABLE" in str(ev[2].status())
        log = host.log_text()
        assert "LLM folder /nowhere/model is missing" in log
        assert "NOT ready" in log


def test_malformed_graph_is_reported_with_file_and_line():
    with start_host(config("bad_graph")) as host:
        host.wait_server_ready(timeout=30)
        assert http_error(host, "/v2/health/live")[0] == 200
        assert http_error(host, "/v2/models/python_model/ready")[0] == 404
        assert "bad_graph/graph.pbtxt:12:" in host.log_text()


@pytest.mark.parametrize("prompt", ["raise:", "genraise then more words", "tuple:", "none:",
                                    "empty:", "badname:"])
def test_a_failing_execute_writes_nothing_and_the_rpc_ends_at_half_close(echo_host, prompt):
    """OVMS's ErrorInProcessStopsStream: zero writes; the status comes only when the client
    closes (or writes again): INVALID_ARGUMENT "Mediapipe execution failed ..."."""
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send(prompt)
        s.half_close()
        events = s.drain()
    finally:
        s.close()
    assert len(events) == 1, events  # no packet, no error_message: only the final status
    assert ended(events[0]) and "INVALID_ARGUMENT" in str(events[0][2].status())
    assert events[0][2].message().startswith(GRAPH_FAILED)
    assert "Error occurred during graph execution" in events[0][2].message()


def test_after_a_graph_failure_the_next_write_ends_the_rpc(echo_host):
    failures = echo_host.log_text().count("failed (RuntimeError")
    s = StreamCollector(echo_host.grpc_url)
    try:
        s.send("raise:")
        # the client cannot see the failure (nothing is written): wait for the host's log,
        # so the next request is written after it, as a client writing later would
        deadline = time.monotonic() + 10
        while echo_host.log_text().count("failed (RuntimeError") == failures:
            assert time.monotonic() < deadline, "the graph did not fail"
            time.sleep(0.05)
        assert s.events.empty()
        s.send("list:this one is not executed")
        ev = s.next()
    finally:
        s.close()
    assert ended(ev) and ev[2].message().startswith(GRAPH_FAILED)
    s = StreamCollector(echo_host.grpc_url)  # the server goes on serving new streams
    try:
        s.send("list:ok")
        assert outputs_of(s.next()[1]) == {"completion": b"ok"}
    finally:
        s.close()


def test_a_failing_unary_execute_is_invalid_argument(echo_host):
    c = grpcclient.InferenceServerClient(echo_host.grpc_url)
    for prompt in ("raise:", "genraise now"):
        with pytest.raises(InferenceServerException) as e:
            c.infer("python_model", [text_input(prompt)])
        assert "INVALID_ARGUMENT" in str(e.value.status())
        assert e.value.message().startswith(GRAPH_FAILED)


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
