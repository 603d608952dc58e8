"""Build llama-cpp-python from its PyPI sdist (once) and cache it under benchmarks/.cache/llamacpp.

Nothing of llama.cpp is committed: the sdist is fetched with pip at bench time, built into a
wheel, installed with --target into the cache, and its vendored convert_hf_to_gguf.py + gguf-py
are unpacked next to it for the GGUF conversion. Re-runs reuse the cache (build_s is recorded
once, in build.json).
"""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from .paths import CACHE

VERSION = "0.3.36"
ROOT = CACHE / "llamacpp"
SITE = ROOT / "site"  # pip --target: import llama_cpp from here
SRC = ROOT / "src"  # convert_hf_to_gguf.py + gguf-py from the sdist
INFO = ROOT / "build.json"


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def ensure_built() -> dict:
    """Return {"version", "build_s", "site", "src"}; build if the cache is missing."""
    if INFO.exists() and (SITE / "llama_cpp").is_dir():
        return json.loads(INFO.read_text())
    ROOT.mkdir(parents=True, exist_ok=True)
    sdist_dir, wheel_dir = ROOT / "sdist", ROOT / "wheels"
    t0 = time.perf_counter()
    _pip("download", "--no-deps", "--no-binary", ":all:", f"llama-cpp-python=={VERSION}",
         "-d", str(sdist_dir), "-q")
    download_s = time.perf_counter() - t0
    env = dict(os.environ, CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2),
               # LLAVA_BUILD=OFF: skip libmtmd (clip.cpp etc.), never imported here (llama_cpp loads it lazily)
               CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAVA_BUILD=OFF")
    sdist = glob.glob(str(sdist_dir / "llama_cpp_python-*.tar.gz"))[0]
    t1 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", sdist, "-w", str(wheel_dir)],
                   check=True, env=env)
    build_s = time.perf_counter() - t1
    wheel = glob.glob(str(wheel_dir / "llama_cpp_python-*.whl"))[0]
    _pip("install", "--no-deps", "--target", str(SITE), "--upgrade", wheel, "-q",
         "diskcache")  # llama_cpp imports diskcache lazily; harmless
    # the vendored converter (+ its gguf-py) — kept in the cache, never in git
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        members = [m for m in tar.getmembers()
                   if m.name.startswith(f"{top}/vendor/llama.cpp/gguf-py/")
                   or m.name == f"{top}/vendor/llama.cpp/convert_hf_to_gguf.py"
                   or m.name.startswith(f"{top}/vendor/llama.cpp/conversion")]
        tar.extractall(SRC, members=members, filter="data")
    info = {"version": VERSION, "download_s": round(download_s, 1), "build_s": round(build_s, 1),
            "site": str(SITE), "src": str(SRC / top / "vendor" / "llama.cpp"),
            "cmake_args": env["CMAKE_ARGS"]}
    INFO.write_text(json.dumps(info, indent=2))
    return info


if __name__ == "__main__":
    from .common import emit

    emit(ensure_built())
