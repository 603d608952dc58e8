"""compress_model.py's logic: FP16 / INT8 / INT4 weight variants of an exported LLM.

Each variant is a complete servable folder beside the source (configs, HF and
OpenVINO tokenizer files copied), so LLM_MODEL_DIR can point at any of them.
"""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ragbot.acquisition.hub import (
    MODEL_XML,
    assert_stateful,
    is_llm_folder,
    staging_dir,
)
from ragbot.presets import Int4Recipe, get_preset
from ragbot.acquisition.weights import compress_weights
from ragbot.errors import ModelMissingError

PRECISIONS = ("FP16", "INT8", "INT4")
_MODEL_FILES = {MODEL_XML, "openvino_model.bin"}


@dataclass(frozen=True)
class Variant:
    precision: str
    path: Path
    weights_bytes: int
    seconds: float


def variant_dir(source: Path, precision: str) -> Path:
    """The seed's folder names: <model>_FP16, <model>_INT8_compressed_weights, ..."""
    suffix = "_FP16" if precision == "FP16" else f"_{precision}_compressed_weights"
    return source.parent / f"{source.name}{suffix}"


def compress_model(name: str, output_dir: Path, precisions=PRECISIONS) -> list[Variant]:
    """Make the requested variants of <output_dir>/<name>; return what was written."""
    preset = get_preset(name)
    source = Path(output_dir) / preset.name
    if not is_llm_folder(source):
        raise ModelMissingError(
            f"{source} holds no {MODEL_XML}; first run: python download_model.py "
            f"--model {preset.name} --output_dir {output_dir}"
        )
    return [compress_variant(source, p, preset.int4) for p in precisions]


def compress_variant(source: Path, precision: str, int4: Int4Recipe, dest: Path | None = None) -> Variant:
    """Write one variant (default folder: variant_dir beside the source)."""
    import openvino as ov

    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    started = time.monotonic()
    dest = Path(dest) if dest is not None else variant_dir(source, precision)
    with staging_dir(dest) as tmp:
        _copy_companions(source, tmp)
        model = ov.Core().read_model(source / MODEL_XML)
        if precision == "FP16":
            ov.save_model(model, tmp / MODEL_XML, compress_to_fp16=True)
        else:
            ov.save_model(compress_weights(model, precision, int4), tmp / MODEL_XML)
        del model
        assert_stateful(tmp)
    return Variant(precision, dest, (dest / "openvino_model.bin").stat().st_size,
                   time.monotonic() - started)


def _copy_companions(source: Path, dest: Path) -> None:
    """Everything but the model weights: configs, tokenizers, chat template."""
    for item in source.iterdir():
        if item.name in _MODEL_FILES or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name)
        else:
            shutil.copy2(item, dest / item.name)
