"""Build llama.cpp's shared library from llama-cpp-python's PyPI sdist (once) and cache it under
benchmarks/.cache/llamacpp, with the sdist's pure-Python `llama_cpp` package beside it.

Nothing of llama.cpp is committed: the sdist is fetched with pip at bench time. Instead of
`pip wheel` (scikit-build: libllama + ggml + the `common` library the wrapper force-enables +
libmtmd), only the CMake target `llama` (and the ggml libraries it links) is built from the
vendored source, with tools/examples/tests/server/common/curl off, CMAKE_BUILD_PARALLEL_LEVEL =
cores. The bench only needs libllama (ctypes: model load, quantize, decode), so the ctypes
package is copied from the sdist and the built .so files go to its lib/ folder, where it loads
them from. The vendored convert_hf_to_gguf.py + gguf-py come from the same sdist.
Re-runs reuse the cache; build.json records the build time of the run that built it.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

from .paths import CACHE

VERSION = "0.3.36"
ROOT = CACHE / "llamacpp"
SITE = ROOT / "site"  # import llama_cpp from here
SRC = ROOT / "src"  # the sdist, unpacked (vendored llama.cpp + converter + gguf-py)
INFO = ROOT / "build.json"
CMAKE_ARGS = ["-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON", "-DGGML_NATIVE=ON",
              "-DLLAMA_BUILD_COMMON=OFF", "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
              "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_CURL=OFF",
              "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON"]


def _cmake() -> str:
    found = shutil.which("cmake") or str(Path(sys.executable).parent / "cmake")
    if not Path(found).exists():  # the venv's cmake (PyPI) if the system has none
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "cmake"], check=True)
        found = str(Path(sys.executable).parent / "cmake")
    return found


def ensure_built(root: Path = ROOT) -> dict:
    """Return {"version", "build_s", "site", "src", ...}; build if the cache is missing."""
    info_path, site, src = root / "build.json", root / "site", root / "src"
    if info_path.exists() and (site / "llama_cpp" / "lib").is_dir():
        return json.loads(info_path.read_text())
    root.mkdir(parents=True, exist_ok=True)
    sdist_dir = root / "sdist"
    t0 = time.perf_counter()
    if not glob.glob(str(sdist_dir / "llama_cpp_python-*.tar.gz")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                        f"llama-cpp-python=={VERSION}", "-d", str(sdist_dir), "-q"], check=True)
    sdist = glob.glob(str(sdist_dir / "llama_cpp_python-*.tar.gz"))[0]
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        if not (src / top / "vendor" / "llama.cpp" / "CMakeLists.txt").exists():
            tar.extractall(src, filter="data")
    download_s = time.perf_counter() - t0
    vendored = src / top / "vendor" / "llama.cpp"
    build = root / "build"
    cpu_before = os.times()
    t1 = time.perf_counter()
    cmake = _cmake()
    subprocess.run([cmake, "-S", str(vendored), "-B", str(build), *CMAKE_ARGS], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([cmake, "--build", str(build), "--target", "llama", "--parallel",
                    str(os.cpu_count() or 2)], check=True)
    build_s = time.perf_counter() - t1
    cpu_after = os.times()
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(src / top / "llama_cpp", site / "llama_cpp")
    # llama_cpp imports diskcache at import time (llama_cache.py); the wheel route pulled it in
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    "diskcache"], check=True)
    lib = site / "llama_cpp" / "lib"
    lib.mkdir(exist_ok=True)
    for so in glob.glob(str(build / "bin" / "lib*.so*")):
        shutil.copy2(so, lib, follow_symlinks=False)
    info = {"version": VERSION, "download_s": round(download_s, 1), "build_s": round(build_s, 1),
            "build_cpu_s": round((cpu_after.children_user - cpu_before.children_user)
                                 + (cpu_after.children_system - cpu_before.children_system), 1),
            "site": str(site), "src": str(vendored), "cmake_args": " ".join(CMAKE_ARGS),
            "target": "llama"}
    info_path.write_text(json.dumps(info, indent=2))
    return info


if __name__ == "__main__":
    from .common import emit

    emit(ensure_built(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT))
