"""A fake OVMS image layout under a temporary folder, for running deploy/image/*.sh here.

What the published 2026.x images hold that the scripts read (checked in OVMS's
create_package.sh and Dockerfile.{ubuntu,redhat}): /ovms/lib/python with pyovms.so (no ABI
tag in its name; it links libpython3.X) and the bundled openvino, openvino_tokenizers and
openvino_genai whose dist-info says only X.Y ("openvino-4.dist-info" on UBI, as OVMS's
Dockerfile.redhat writes it); /ovms/bin/ovms printing X.Y.Z. Here:
- pyovms.so is a real extension module compiled for the test's Python, carrying the
  "libpython3.12" name OVMS's links to;
- the bundled packages are symlinks to the real ones of this venv, so imports are real;
- package managers are stubs that log their calls and "install" interpreters as wrappers
  around this Python (whose `-m pip` calls are logged, not run).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGE_SCRIPTS = REPO / "deploy" / "image"

PYOVMS_C = r"""
#include <Python.h>
/* OVMS's pyovms.so links this library; the scripts read the name from the binary. */
static const char linked[] = "%(libpython)s.so.1.0";
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "pyovms", "fake pyovms", -1, NULL};
PyMODINIT_FUNC PyInit_pyovms(void) {
    PyObject *m = PyModule_Create(&module);
    if (m) PyModule_AddStringConstant(m, "linked", linked);
    return m;
}
"""

MANAGER = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
case " $* " in *" install "*)
  for py in {pythons}; do
    printf '%s\\n' '#!/bin/sh' "echo \\"$py \\$*\\" >> '{log}'" \\
      'if [ "$1" = -m ] && [ "$2" = pip ]; then' \\
      '  prev=""; for a in "$@"; do [ "$prev" = -c ] && cat "$a" >> "{log}"; prev="$a"; done' \\
      '  [ "$3" = --version ] && echo "pip 24.0 (stub)"; exit 0; fi' \\
      'exec "{python}" "$@"' > "{bin}/$py"
    chmod +x "{bin}/$py"
  done ;;
esac
exit 0
"""

OVMS = """#!/bin/sh
[ "$1" = --version ] || exit 1
echo "OpenVINO Model Server {server}"
echo "OpenVINO backend {backend}"
"""


def compile_pyovms(folder: Path, libpython: str = "libpython3.12") -> Path | None:
    """A real pyovms extension for this Python, or None without a C compiler/headers."""
    cc = shutil.which("cc") or shutil.which("gcc")
    include = sysconfig.get_paths()["include"]
    if not cc or not os.path.isfile(os.path.join(include, "Python.h")):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "pyovms.c"
    src.write_text(PYOVMS_C % {"libpython": libpython})
    out = folder / "pyovms.so"
    subprocess.run([cc, "-shared", "-fPIC", f"-I{include}", str(src), "-o", str(out)], check=True,
                   capture_output=True, timeout=120)
    return out


@dataclass
class FakeImage:
    root: Path
    log: Path

    @property
    def ovms(self) -> Path:
        return self.root / "ovms"

    @property
    def bundled(self) -> Path:
        return self.ovms / "lib" / "python"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def local_bin(self) -> Path:
        return self.root / "usr" / "local" / "bin"

    def env(self, **extra) -> dict:
        env = {"PATH": f"{self.bin}:/usr/bin:/bin", "OVMS_ROOT": str(self.ovms),
               "BIN_DIR": str(self.local_bin), "VAR_DIR": str(self.root / "var"),
               "LIB_DIRS": str(self.root / "usr" / "lib64"), "HOME": str(self.root)}
        env.update(extra)
        return env

    def run_script(self, name: str, *args, **extra_env) -> subprocess.CompletedProcess:
        return subprocess.run(["/bin/sh", str(IMAGE_SCRIPTS / name), *args], env=self.env(**extra_env),
                              capture_output=True, text=True, timeout=120)

    def check(self, *args, requirements: Path = REPO / "requirements.txt", **extra_env):
        """check_image.py as the Dockerfile runs it: ovms-python, the image's PYTHONPATH."""
        env = self.env(PYTHONPATH=str(self.bundled), PYTHONDONTWRITEBYTECODE="1", **extra_env)
        return subprocess.run([str(self.local_bin / "ovms-python"), str(IMAGE_SCRIPTS / "check_image.py"),
                               "--requirements", str(requirements), "--ovms", str(self.ovms / "bin" / "ovms"),
                               "--workspace", str(REPO / "servable_stream"), *args],
                              env=env, capture_output=True, text=True, timeout=600)

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def set_ovms_version(self, server: str, backend: str):
        path = self.ovms / "bin" / "ovms"
        path.write_text(OVMS.format(server=server, backend=backend))
        path.chmod(0o755)


def make_fake_image(root: Path, pyovms_so: Path, base_os: str, managers=("apt-get",),
                    pythons=("python3", "python3.12"), bundle=True) -> FakeImage:
    image = FakeImage(root, root / "calls.log")
    image.bundled.mkdir(parents=True)
    shutil.copy(pyovms_so, image.bundled / "pyovms.so")
    if bundle:
        import openvino
        import openvino_genai
        import openvino_tokenizers

        for module in (openvino, openvino_tokenizers, openvino_genai):
            (image.bundled / module.__name__).symlink_to(Path(module.__file__).parent)
        ov_info = "openvino-4.dist-info" if base_os == "redhat" else "openvino-2026.4.dist-info"
        for folder, name in ((ov_info, "openvino"), ("openvino_tokenizers-2026.4.dist-info", "openvino-tokenizers"),
                             ("openvino_genai-2026.4.dist-info", "openvino-genai")):
            (image.bundled / folder).mkdir()
            (image.bundled / folder / "METADATA").write_text(
                f"Metadata-Version: 1.0\nName: {name}\nVersion: 2026.4\n")
    (image.ovms / "bin").mkdir(parents=True)
    image.set_ovms_version("2026.4.1.3d2e8b7a", "2026.4.1-22982-e213a147257-releases/2026/4")
    for d in (image.bin, image.local_bin, root / "var/lib/apt/lists", root / "var/cache/dnf", root / "usr/lib64"):
        d.mkdir(parents=True, exist_ok=True)
    (root / "var/lib/apt/lists/Packages").write_text("x")
    for name in managers:
        path = image.bin / name
        path.write_text(MANAGER.format(log=image.log, pythons=" ".join(pythons), python=sys.executable,
                                       bin=image.bin))
        path.chmod(0o755)
    return image
