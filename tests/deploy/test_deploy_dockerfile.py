"""Dockerfile.python parsed (dockerfile_parse) and its RUN shell logic exercised for both OSes
with stub package managers — no Docker engine needed. .dockerignore matched like Docker does."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dfp() -> DockerfileParser:
    parser = DockerfileParser(fileobj=open(REPO / "Dockerfile.python", "rb"))
    return parser


def instructions(dfp, name):
    return [i for i in dfp.structure if i["instruction"] == name]


def test_from_is_built_from_the_build_args(dfp):
    froms = instructions(dfp, "FROM")
    assert len(froms) == 1 and froms[0]["value"] == "${BASE_IMAGE}"
    args = {i["value"].split("=")[0]: i["value"] for i in instructions(dfp, "ARG")}
    assert args["BASE_IMAGE"] == "BASE_IMAGE=${OVMS_CPP_DOCKER_IMAGE}:${OVMS_CPP_IMAGE_TAG}"
    assert args["OVMS_CPP_IMAGE_TAG"] == "OVMS_CPP_IMAGE_TAG"  # no second source of the tag
    assert "BASE_OS" in args
    # the image args come before FROM (usable in it), BASE_OS after (usable in RUN)
    before = [i["value"].split("=")[0] for i in dfp.structure
              if i["instruction"] == "ARG" and i["startline"] < froms[0]["startline"]]
    assert {"OVMS_CPP_DOCKER_IMAGE", "OVMS_CPP_IMAGE_TAG", "BASE_IMAGE"} <= set(before)


def test_root_for_installs_then_ovms(dfp):
    users = [i["value"] for i in instructions(dfp, "USER")]
    assert users == ["root", "ovms"]
    user_lines = [i["startline"] for i in instructions(dfp, "USER")]
    runs = [i["startline"] for i in instructions(dfp, "RUN")]
    assert runs and all(user_lines[0] < r < user_lines[1] for r in runs)
    entry = instructions(dfp, "ENTRYPOINT")[0]["startline"]
    assert user_lines[1] < entry


def test_env_entrypoint_and_cmd(dfp):
    env = dfp.envs
    assert env["LD_LIBRARY_PATH"] == "/ovms/lib" and env["PYTHONPATH"] == "/ovms/lib/python"
    assert instructions(dfp, "ENTRYPOINT")[0]["value"] == '["/ovms/bin/ovms"]'
    assert "--config_path" in instructions(dfp, "CMD")[0]["value"]


def test_pip_without_cache_cpu_torch_and_no_torchvision(dfp):
    runs = " ".join(i["value"] for i in instructions(dfp, "RUN"))
    installs = re.findall(r"pip install[^;]*", runs)
    assert installs and all("--no-cache-dir" in c for c in installs)
    assert "-r /tmp/ragbot/requirements.txt" in runs
    assert "--extra-index-url \"$TORCH_INDEX_URL\"" in runs
    assert any(i["value"].startswith("TORCH_INDEX_URL=") and i["value"].endswith("/whl/cpu")
               for i in instructions(dfp, "ARG"))
    assert "pip uninstall -y torchvision" in runs
    assert "rm -rf /var/lib/apt/lists/*" in runs and "--no-install-recommends" in runs
    assert "microdnf clean all" in runs and "dnf clean all" in runs
    assert "rm -rf /tmp/ragbot /root/.cache" in runs


def test_every_run_is_valid_posix_sh(dfp):
    sh = shutil.which("dash") or shutil.which("sh")
    for run in instructions(dfp, "RUN"):
        res = subprocess.run([sh, "-n", "-c", run["value"]], capture_output=True, text=True)
        assert res.returncode == 0, (run["startline"], res.stderr)


# --- RUN 1 (pip for the embedded Python) executed against stubs --------------------------

STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""
PY_STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
[ "$1" = "-m" ] && echo "pip 24.0 (stub)"
exit 0
"""


def run_os_step(dfp, tmp_path, base_os, pyovms_name, managers=("apt-get", "microdnf", "dnf"),
                pythons=("python3", "python3.12")):
    """Run the first RUN with /ovms, /usr/local/bin and /var redirected into tmp_path."""
    root = tmp_path / "root"
    (root / "ovms/lib/python").mkdir(parents=True)
    if pyovms_name:
        (root / "ovms/lib/python" / pyovms_name).write_bytes(b"")
    bin_dir = root / "bin"
    local_bin = root / "usr/local/bin"
    for d in (bin_dir, local_bin, root / "var/lib/apt/lists", root / "var/cache/dnf"):
        d.mkdir(parents=True, exist_ok=True)
    (root / "var/lib/apt/lists/Packages").write_text("x")
    log = tmp_path / "calls.log"
    for name in managers:
        (bin_dir / name).write_text(STUB.format(log=log))
    for name in pythons:
        (bin_dir / name).write_text(PY_STUB.format(log=log))
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    script = instructions(dfp, "RUN")[0]["value"]
    for real in ("/ovms/", "/usr/local/bin/", "/var/"):
        script = script.replace(real, f"{root}{real}")
    script = script.replace("ovms-python -m", f"{local_bin}/ovms-python -m")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "BASE_OS": base_os}
    res = subprocess.run(["/bin/sh", "-c", script], env=env, capture_output=True, text=True, timeout=30)
    calls = log.read_text().splitlines() if log.exists() else []
    return res, calls, root


def test_run1_ubuntu(dfp, tmp_path):
    res, calls, root = run_os_step(dfp, tmp_path, "ubuntu", "pyovms.cpython-312-x86_64-linux-gnu.so")
    assert res.returncode == 0, res.stderr
    assert calls[:2] == ["apt-get update", "apt-get install -y --no-install-recommends python3-pip"]
    assert "apt-get clean" in calls
    assert not any((root / "var/lib/apt/lists").iterdir())
    assert os.readlink(root / "usr/local/bin/ovms-python").endswith("/python3.12")
    assert calls[-1] == "ovms-python -m pip --version"  # the symlink to python3.12


def test_run1_redhat_microdnf_python312(dfp, tmp_path):
    res, calls, root = run_os_step(dfp, tmp_path, "redhat", "pyovms.cpython-312-x86_64-linux-gnu.so",
                                   managers=("microdnf",))
    assert res.returncode == 0, res.stderr
    assert calls[0].startswith("microdnf install -y") and calls[0].endswith("python3.12 python3.12-pip")
    assert "microdnf clean all" in calls
    assert os.readlink(root / "usr/local/bin/ovms-python").endswith("/python3.12")


def test_run1_redhat_dnf_default_python(dfp, tmp_path):
    res, calls, root = run_os_step(dfp, tmp_path, "redhat", "pyovms.so", managers=("dnf",))
    assert res.returncode == 0, res.stderr
    assert calls[0].startswith("dnf install -y") and calls[0].endswith("python3 python3-pip")
    assert "dnf clean all" in calls
    assert os.readlink(root / "usr/local/bin/ovms-python").endswith("/python3")


def test_run1_redhat_python39_uses_the_default_package(dfp, tmp_path):
    res, calls, _ = run_os_step(dfp, tmp_path, "redhat", "pyovms.cpython-39-x86_64-linux-gnu.so",
                                managers=("microdnf",), pythons=("python3", "python3.9"))
    assert res.returncode == 0, res.stderr
    assert calls[0].endswith("python3 python3-pip")


def test_run1_missing_interpreter_and_bad_os_fail(dfp, tmp_path):
    res, _, _ = run_os_step(dfp, tmp_path / "a", "ubuntu", "pyovms.cpython-313-x86_64-linux-gnu.so")
    assert res.returncode != 0 and "python3.13 (the Python pyovms is built for) is not installed" in res.stderr
    res, calls, _ = run_os_step(dfp, tmp_path / "b", "alpine", "pyovms.so")
    assert res.returncode != 0 and "BASE_OS must be ubuntu or redhat" in res.stderr and calls == []


# --- .dockerignore ---------------------------------------------------------------------------

def _docker_ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    def rx(p: str) -> re.Pattern:
        out, i = "", 0
        while i < len(p):
            if p.startswith("**/", i):
                out, i = out + "(?:.*/)?", i + 3
            elif p.startswith("**", i):
                out, i = out + ".*", i + 2
            elif p[i] == "*":
                out, i = out + "[^/]*", i + 1
            elif p[i] == "?":
                out, i = out + "[^/]", i + 1
            else:
                out, i = out + re.escape(p[i]), i + 1
        return re.compile(out + "$")

    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pat in patterns:
        neg = pat.startswith("!")
        body = pat[1:] if neg else pat
        if any(rx(body).match(p) for p in prefixes):
            ignored = not neg
    return ignored


@pytest.fixture(scope="module")
def ignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]


@pytest.mark.parametrize("path", [
    "requirements.txt", "servable_stream/config.json", "servable_stream/graph.pbtxt",
    "servable_stream/model.py", "servable_stream/docs.txt", "servable_stream/ragbot/settings.py",
    "servable_stream/sample_docs/openvino_model_server.md",
])
def test_dockerignore_keeps_what_the_image_needs(path, ignore_patterns):
    assert not _docker_ignored(path, ignore_patterns)


@pytest.mark.parametrize("path", [
    ".git/HEAD", ".venv/bin/python", ".cache/huggingface/x", "tests/artifacts/run.log",
    "servable_stream/tiny-llama-1b-chat/openvino_model.bin",
    "servable_stream/tiny-llama-1b-chat_INT4_compressed_weights/openvino_model.bin",
    "servable_stream/all-mpnet-base-v2/model.safetensors",
    "servable_stream/ragbot/__pycache__/settings.cpython-312.pyc", "servable_stream/.index/faiss.bin",
    "client/app.py", "benchmarks/run.py",
])
def test_dockerignore_leaves_out_models_caches_and_the_rest(path, ignore_patterns):
    assert _docker_ignored(path, ignore_patterns)
