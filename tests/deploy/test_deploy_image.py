"""make python_image, the tag check and Dockerfile.python — offline, no Docker needed."""
from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MK = "mk/python_image.mk"
REDHAT_IMAGE = "registry.connect.redhat.com/intel/openvino-model-server"

_spec = importlib.util.spec_from_file_location("check_image_tag", REPO / "deploy" / "check_image_tag.py")
cit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cit)

PIN = cit.openvino_pin()
DEFAULT_TAG = cit.tag_for(PIN)

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_n(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OVMS_CPP_IMAGE_TAG", "BASE_OS",
                                                            "OVMS_CPP_DOCKER_IMAGE", "SKIP_TAG_CHECK")}
    return subprocess.run(["make", "--no-print-directory", "-n", "-f", str(REPO / MK) if cwd != REPO else MK,
                           "python_image", f"PYTHON_IMAGE_PY={sys.executable}", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def docker_build_line(out: str) -> list[str]:
    lines = [l for l in out.splitlines() if l.startswith("docker build")]
    assert len(lines) == 1, out
    return shlex.split(lines[0])


# --- the tag <-> pin mapping ---------------------------------------------------------------

def test_pin_and_default_tag():
    req = (REPO / "requirements.txt").read_text()
    assert f"openvino=={'.'.join(map(str, PIN))}" in req
    assert DEFAULT_TAG == (f"{PIN[0]}.{PIN[1]}" if PIN[2] == 0 else ".".join(map(str, PIN)))


@pytest.mark.parametrize("version,tag", [((2024, 1, 0), "2024.1"), ((2025, 2, 1), "2025.2.1"),
                                         ((2026, 4, 1), "2026.4.1")])
def test_ovms_tag_naming(version, tag):
    assert cit.tag_for(version) == tag
    assert cit.parse_tag(tag) == version
    assert cit.parse_tag(tag + "-gpu") == version


def test_check_tag_accepts_only_the_pinned_release(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("numpy==2.4.6\nopenvino==2025.2.0\n")
    cit.check_tag("2025.2", "ubuntu", req)
    cit.check_tag("2025.2-gpu", "redhat", req)
    for bad in ("2024.1", "2025.2.1", "2025.3", "latest"):
        with pytest.raises(cit.TagError) as err:
            cit.check_tag(bad, "ubuntu", req)
        assert "\n" not in str(err.value) and "2025.2" in str(err.value)
    with pytest.raises(cit.TagError, match="BASE_OS"):
        cit.check_tag("2025.2", "debian", req)
    req.write_text("openvino>=2025\n")
    with pytest.raises(cit.TagError, match="no exact"):
        cit.openvino_pin(req)


def test_image_table_covers_the_default_tag():
    for base_os in cit.BASE_OSES:
        info = cit.image_info(DEFAULT_TAG, base_os)
        assert re.fullmatch(r"3\.\d+", info["python"]) and re.fullmatch(r"2\.\d+", info["glibc"])
    assert cit.pip_platforms("2.34")[0] == "manylinux_2_34_x86_64"
    assert "manylinux2014_x86_64" in cit.pip_platforms("2.34")


# --- make python_image ---------------------------------------------------------------------

@needs_make
@pytest.mark.parametrize("base_os,image", [("redhat", REDHAT_IMAGE), ("ubuntu", "openvino/model_server")])
def test_make_python_image_prints_the_seed_build(base_os, image):
    res = make_n(f"BASE_OS={base_os}", f"OVMS_CPP_DOCKER_IMAGE={image}")
    assert res.returncode == 0, res.stderr
    argv = docker_build_line(res.stdout)
    assert argv[:4] == ["docker", "build", "-f", "Dockerfile.python"]
    assert argv[-3:] == ["-t", f"{image}:py", "."]
    build_args = [argv[i + 1] for i, a in enumerate(argv) if a == "--build-arg"]
    assert build_args == [f"BASE_OS={base_os}", f"OVMS_CPP_DOCKER_IMAGE={image}",
                          f"OVMS_CPP_IMAGE_TAG={DEFAULT_TAG}"]
    # the check runs first (it is the only line make executes under -n)
    assert res.stdout.index("check_image_tag.py") < res.stdout.index("docker build")


@needs_make
def test_make_defaults_to_ubuntu_and_docker_hub():
    res = make_n()
    assert res.returncode == 0, res.stderr
    argv = docker_build_line(res.stdout)
    assert "BASE_OS=ubuntu" in argv and "openvino/model_server:py" in argv


@needs_make
def test_make_from_another_folder_uses_absolute_paths(tmp_path):
    res = make_n(cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    argv = docker_build_line(res.stdout)
    assert argv[3] == str(REPO / "Dockerfile.python") and argv[-1] == str(REPO)


@needs_make
@pytest.mark.parametrize("args", [("OVMS_CPP_IMAGE_TAG=2024.1",),
                                  ("BASE_OS=redhat", f"OVMS_CPP_DOCKER_IMAGE={REDHAT_IMAGE}",
                                   "OVMS_CPP_IMAGE_TAG=2024.1")])
def test_make_stops_before_docker_on_the_seed_tag(args):
    res = make_n(*args)
    assert res.returncode != 0
    assert "docker build" not in res.stdout
    reason = [l for l in res.stderr.splitlines() if l.startswith("python_image:")]
    assert len(reason) == 1, res.stderr
    assert "2024.1" in reason[0] and f"OVMS_CPP_IMAGE_TAG={DEFAULT_TAG}" in reason[0]


@needs_make
def test_make_refuses_unknown_base_os():
    res = make_n("BASE_OS=debian")
    assert res.returncode != 0 and "docker build" not in res.stdout
    assert "BASE_OS='debian' is not supported" in res.stderr


@needs_make
def test_skip_tag_check_turns_refusal_into_warning():
    env_res = subprocess.run(["make", "-n", "-f", MK, "python_image", "OVMS_CPP_IMAGE_TAG=latest",
                              f"PYTHON_IMAGE_PY={sys.executable}"], cwd=REPO, capture_output=True,
                             text=True, timeout=60, env={**os.environ, "SKIP_TAG_CHECK": "1"})
    assert env_res.returncode == 0, env_res.stderr
    assert "warning (SKIP_TAG_CHECK=1)" in env_res.stderr
    assert "OVMS_CPP_IMAGE_TAG=latest" in env_res.stdout
