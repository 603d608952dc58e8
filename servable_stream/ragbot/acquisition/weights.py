"""Weight compression of an exported LLM (NNCF, data-free): the one place that knows how a
precision maps to NNCF's settings. compress_model.py's variants and the presets exported
straight to INT4 (their weights ship in 4 bits) both use it."""
from __future__ import annotations

import os
from pathlib import Path

from ..presets import Int4Recipe

MODEL_XML = "openvino_model.xml"


def compress_weights(model, precision: str, int4: Int4Recipe):
    """`model` with INT8 (asymmetric, per channel) or INT4 (the recipe; embeddings and the
    output matrix stay INT8, NNCF's backup mode) weights."""
    import nncf

    if precision == "INT8":
        return nncf.compress_weights(model)
    if precision != "INT4":
        raise ValueError(f"precision must be INT8 or INT4, not {precision!r}")
    mode = {
        "int4_sym": nncf.CompressWeightsMode.INT4_SYM,
        "int4_asym": nncf.CompressWeightsMode.INT4_ASYM,
    }[int4.mode]
    return nncf.compress_weights(model, mode=mode, group_size=int4.group_size, ratio=int4.ratio)


def compress_folder(folder: Path, precision: str, int4: Int4Recipe) -> None:
    """Compress the model of an exported folder in place (the new files replace the old)."""
    import openvino as ov

    folder = Path(folder)
    model = compress_weights(ov.Core().read_model(folder / MODEL_XML), precision, int4)
    tmp = folder / f".compressed-{os.getpid()}.xml"
    ov.save_model(model, tmp, compress_to_fp16=False)
    del model
    tmp.with_suffix(".bin").replace(folder / "openvino_model.bin")
    tmp.replace(folder / MODEL_XML)
