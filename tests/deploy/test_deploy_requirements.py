"""requirements.txt resolves for the Python and glibc of the OVMS image we build on.

Needs the package index (skipped with the reason when it is unreachable) and downloads the
wheels pip reads metadata from (torch's ~0.5 GB: this is the slow deploy test, ~2 min).
The image installs torch from the PyTorch CPU index, which is not reachable here; the same
version's manylinux wheel on the default index stands in for it (same version, same
dependencies apart from the CUDA ones). Set SKIP_RESOLVE_TEST=1 to skip it deliberately.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.host

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_image_tag", REPO / "deploy" / "check_image_tag.py")
cit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cit)

DEFAULT_TAG = cit.tag_for(cit.openvino_pin())


def _pip_env() -> dict[str, str]:
    # the package index itself, as the image sees it: no machine-local wheel folders/constraints
    env = {k: v for k, v in os.environ.items()
           if k not in ("PIP_FIND_LINKS", "PIP_CONSTRAINT", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL")}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def _index_reachable() -> bool:
    try:
        res = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "openvino"],
                             env=_pip_env(), capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0 and "openvino" in res.stdout


def _targets() -> list[tuple[str, str]]:
    """Distinct (python, lowest glibc) among the default tag's images."""
    seen: dict[str, str] = {}
    for base_os in cit.BASE_OSES:
        info = cit.image_info(DEFAULT_TAG, base_os)
        old = seen.get(info["python"])
        if old is None or tuple(map(int, info["glibc"].split("."))) < tuple(map(int, old.split("."))):
            seen[info["python"]] = info["glibc"]
    return sorted(seen.items())


@pytest.fixture(scope="module")
def index():
    if os.environ.get("SKIP_RESOLVE_TEST") == "1":
        pytest.skip("SKIP_RESOLVE_TEST=1")
    if not _index_reachable():
        pytest.skip("the package index is unreachable: cannot check requirements.txt for the image's Python")


@pytest.mark.timeout(900)
@pytest.mark.parametrize("python,glibc", _targets())
def test_requirements_resolve_for_the_image_python(index, python, glibc, tmp_path):
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
           "--only-binary=:all:", "--python-version", python, "--target", str(tmp_path / "t"),
           "-r", str(REPO / "requirements.txt")]
    for platform in cit.pip_platforms(glibc):
        cmd += ["--platform", platform]
    res = subprocess.run(cmd, env=_pip_env(), capture_output=True, text=True, timeout=850)
    tail = "\n".join((res.stdout + res.stderr).splitlines()[-8:])
    assert res.returncode == 0, f"requirements.txt does not resolve for Python {python} (glibc {glibc}):\n{tail}"
    assert "openvino-" + ".".join(map(str, cit.openvino_pin())) in res.stdout
