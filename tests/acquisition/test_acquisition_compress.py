import json

import pytest

from tests.scripts import PRECISION_DIRS

pytestmark = pytest.mark.model

ORDER = ["FP32", "FP16", "INT8", "INT4"]


def weights_size(folder):
    return (folder / "openvino_model.bin").stat().st_size


def test_weights_shrink_fp32_fp16_int8_int4(compressed_models):
    sizes = [weights_size(compressed_models.folders[p]) for p in ORDER]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 4, dict(zip(ORDER, sizes))


def test_script_reports_sizes_and_times(compressed_models):
    out = compressed_models.stdout
    for name in PRECISION_DIRS.values():
        assert name in out
    assert " s" in out and "KB" in out


@pytest.mark.parametrize("precision", list(PRECISION_DIRS))
def test_each_variant_is_a_complete_servable_folder(compressed_models, precision):
    folder = compressed_models.folders[precision]
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json",
                 "openvino_tokenizer.xml", "openvino_detokenizer.xml", "openvino_model.xml"):
        assert (folder / name).is_file(), name
    assert json.loads((folder / "config.json").read_text())["model_type"] == "llama"
    assert not [p for p in folder.parent.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("precision", ORDER)
def test_each_variant_loads_and_generates(compressed_models, precision):
    from optimum.intel import OVModelForCausalLM
    from transformers import AutoTokenizer

    folder = compressed_models.folders[precision]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = OVModelForCausalLM.from_pretrained(folder, compile=True)
    assert model.stateful
    inputs = tokenizer("the model server", return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=4, min_new_tokens=4, do_sample=False)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 4


def test_missing_source_is_one_clear_line(tmp_path):
    from tests.scripts import run_script

    result = run_script("compress_model.py", "--model", "tiny-random",
                        "--output_dir", str(tmp_path), timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "download_model.py --model tiny-random" in result.stderr


def test_int4_variant_records_its_groups_for_dynamic_quantization(compressed_models):
    """NNCF's record in the IR is what the backends match dynamic quantization to
    (weight_groups.py): the tiny model's INT4 recipe has groups of 32, INT8 none."""
    from ragbot.backends.weight_groups import int4_group_size

    assert int4_group_size(compressed_models.folders["INT4"] / "openvino_model.xml") == 32
    assert int4_group_size(compressed_models.folders["INT8"] / "openvino_model.xml") is None
    assert int4_group_size(compressed_models.folders["FP32"] / "openvino_model.xml") is None
