"""Dynamic quantization follows the IR's INT4 groups (ragbot/backends/weight_groups.py)."""
from pathlib import Path

from ragbot.backends.genai import engine_properties
from ragbot.backends.weight_groups import PROPERTY, int4_group_size, matched_dynamic_quantization


def ir(folder: Path, mode: str | None, group: str = "128") -> Path:
    """An openvino_model.xml whose rt_info carries NNCF's record as ov.save_model writes it."""
    record = "" if mode is None else (
        "<nncf><weight_compression>"
        f'<all_layers value="False" /><group_size value="{group}" /><mode value="{mode}" />'
        '<ratio value="1.0" /></weight_compression></nncf>')
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openvino_model.xml").write_text(
        f'<?xml version="1.0"?>\n<net name="m" version="11"><layers /><edges />'
        f"<rt_info>{record}</rt_info></net>\n", encoding="utf-8")
    return folder


def test_int4_groups_are_read_from_the_record(tmp_path):
    assert int4_group_size(ir(tmp_path / "sym", "int4_sym") / "openvino_model.xml") == 128
    assert int4_group_size(ir(tmp_path / "asym", "int4_asym", "64") / "openvino_model.xml") == 64


def test_no_int4_groups_no_value(tmp_path):
    assert int4_group_size(ir(tmp_path / "int8", "int8_asym", "-1") / "openvino_model.xml") is None
    assert int4_group_size(ir(tmp_path / "channel", "int4_sym", "-1") / "openvino_model.xml") is None
    assert int4_group_size(ir(tmp_path / "fp32", None) / "openvino_model.xml") is None
    assert int4_group_size(tmp_path / "missing" / "openvino_model.xml") is None


def test_the_engine_gets_the_groups_unless_ov_config_says_otherwise(tmp_path):
    folder = ir(tmp_path / "m", "int4_sym")
    assert engine_properties({}, "CPU", folder) == {"KV_CACHE_PRECISION": "u8", PROPERTY: 128}
    assert engine_properties({PROPERTY: 32}, "CPU", folder)[PROPERTY] == 32
    assert PROPERTY not in engine_properties({PROPERTY: ""}, "CPU", folder)  # empty: the plugin decides
    assert matched_dynamic_quantization(folder, "GPU.0", {}) == {}  # a CPU setting
    assert matched_dynamic_quantization(ir(tmp_path / "f", None), "CPU", {}) == {}
