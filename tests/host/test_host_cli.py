"""OVMS's command line: unknown flags are refused (exit 64, EX_USAGE), OVMS flags without
meaning here are accepted with a warning, single-model/pull modes are refused by name."""
import subprocess
import sys

from host_helpers import config

from probes.host import REPO, start_host


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
