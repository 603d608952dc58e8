"""Dynamic quantization matched to the model's INT4 weight groups.

On CPU, OpenVINO quantizes a FullyConnected layer's activations to 8 bits on the fly, in
groups along the input dimension (DYNAMIC_QUANTIZATION_GROUP_SIZE, default 32), so that the
integer kernels can multiply them with INT4/INT8 weights. Groups that line up with the
weights' own groups pay: on the 1.5B's INT4 IR (symmetric, groups of 128) a 1,000-token
prefill took 3.2 s with 128 against 4.6 s with the default 32, and decode ran faster too
(benchmarks/README.md, "dynamic quantization"); groups larger than the weights' were slower
than either. NNCF records its recipe in the IR's rt_info, which is where the group size is
read from; OV_CONFIG's own value always wins.
"""
from __future__ import annotations

from pathlib import Path

from ..ir_record import weight_compression

PROPERTY = "DYNAMIC_QUANTIZATION_GROUP_SIZE"


def int4_group_size(model_xml: Path) -> int | None:
    """The group size of the IR's INT4 weights as NNCF recorded it; None for an IR that is
    not INT4 (FP32, INT8 per channel), per-channel INT4 (-1), or one NNCF did not write."""
    record = weight_compression(model_xml) or {}
    mode, group = record.get("mode", ""), record.get("group_size")
    if not mode.startswith("int4") or group is None:
        return None
    try:
        size = int(group)
    except ValueError:
        return None
    return size if size > 0 else None


def matched_dynamic_quantization(model_dir: Path | None, device: str, ov_config: dict) -> dict:
    """{PROPERTY: group size} for a CPU IR with INT4 groups that OV_CONFIG does not set; else {}."""
    if model_dir is None or device.split(".")[0] != "CPU" or PROPERTY in ov_config:
        return {}
    size = int4_group_size(Path(model_dir) / "openvino_model.xml")
    return {PROPERTY: size} if size else {}
