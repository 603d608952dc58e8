"""OVMS's command line: unknown flags are refused (exit 64, EX_USAGE), OVMS flags without
meaning here are accepted with a warning, single-model/pull modes are refused by name."""
import pytest
import subprocess
import sys

from host_helpers import config

from probes.host import REPO, start_host

pytestmark = pytest.mark.host


def run(*args):
    return subprocess.run([sys.executable, "-m", "ovms_host", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


def test_unknown_flags_are_refused_like_ovms():
    done = run("--config_path", config("echo_servable"), "--no_such_flag", "1")
    assert done.returncode == 64
    assert "error parsing options - unmatched arguments: --no_such_flag, 1, " in done.stderr


def test_single_model_mode_is_refused_by_name():
    done = run("--model_path", "/models/x", "--model_name", "x", "--config_path", "c.json")
    assert done.returncode == 64
    assert "not supported: --model_path, --model_name" in done.stderr


def test_a_missing_config_path_is_a_usage_error():
    done = run("--port", "9")
    assert done.returncode == 64 and "--config_path" in done.stderr


def test_ovms_flags_without_effect_are_accepted_with_a_warning(tmp_path):
    with start_host(config("echo_servable"), env={"ECHO_MARKER_DIR": str(tmp_path)},
                    extra_args=("--rest_workers", "4", "--metrics_enable")) as host:
        host.wait_ready(timeout=30)
        assert "accepted but without effect in ovms_host: --rest_workers, --metrics_enable" \
            in host.log_text()


def test_ovms_2026_flags_are_known(tmp_path):
    """The 2026.x server flags OVMS's cli_parser.cpp has: none is an unknown flag; those for
    OVMS's LLM graphs are accepted with a warning; the pull/single-model ones refused by name."""
    with start_host(config("echo_servable"), env={"ECHO_MARKER_DIR": str(tmp_path)},
                    extra_args=("--verbose_response", "--allowed_media_domains", "all",
                                "--allowed_local_media_path", str(tmp_path),
                                "--metrics_enable=true", "--allow_credentials=false")) as host:
        host.wait_ready(timeout=30)
        assert "accepted but without effect in ovms_host: --metrics_enable, " \
               "--allowed_media_domains, --allowed_local_media_path, --verbose_response" in host.log_text()
    for flag in ("--source_loras", "--gguf_filename", "--weight-format", "--precision"):
        done = run("--config_path", config("echo_servable"), flag, "x")
        assert done.returncode == 64 and f"not supported: {flag}" in done.stderr
    done = run("--config_path", config("echo_servable"), "--verbose_response=maybe")
    assert done.returncode == 64 and "failed to parse for option verbose_response" in done.stderr


def _unary(url, inputs):
    """(output "seen" or None, error message or None) of one ModelInfer on two_inputs."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    try:
        result = grpcclient.InferenceServerClient(url).infer("two_inputs", inputs)
    except InferenceServerException as e:
        return None, e.message()
    return result.as_numpy("seen").tobytes().decode(), None


def test_disable_input_count_validation_runs_the_node_with_the_inputs_sent():
    import json

    from host_helpers import text_input

    two = config("two_inputs")
    with start_host(two) as strict:
        strict.wait_ready(model="two_inputs", timeout=30)
        assert _unary(strict.grpc_url, [text_input("q", name="question")]) == (
            None, "Invalid number of inputs - Not all input packets created")
    with start_host(two, extra_args=("--disable_input_count_validation",)) as lenient:
        lenient.wait_ready(model="two_inputs", timeout=30)
        assert "unary requests may leave out graph inputs" in lenient.log_text()
        seen, _ = _unary(lenient.grpc_url, [text_input("q", name="question")])
        assert json.loads(seen) == ["question"]
        both, _ = _unary(lenient.grpc_url, [text_input("q", name="question"),
                                            text_input("c", name="context")])
        assert json.loads(both) == ["context", "question"]
        # nothing sent: the node is never triggered, its output never appears
        _, error = _unary(lenient.grpc_url, [])
        assert error.startswith("Mediapipe execution failed")
