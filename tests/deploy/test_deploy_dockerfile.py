"""Dockerfile.python parsed (dockerfile_parse), and the install and check scripts it calls
(deploy/image/) run against a fake image layout (tests/deploy/fake_image.py) for both
BASE_OS values - no Docker engine needed. .dockerignore matched like Docker does."""
from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tests.deploy.fake_image import IMAGE_SCRIPTS, REPO, compile_pyovms, make_fake_image


@pytest.fixture(scope="module")
def dfp() -> DockerfileParser:
    return DockerfileParser(fileobj=io.BytesIO((REPO / "Dockerfile.python").read_bytes()))


def instructions(dfp, name):
    return [i for i in dfp.structure if i["instruction"] == name]


def test_from_is_built_from_the_build_args(dfp):
    froms = instructions(dfp, "FROM")
    assert len(froms) == 1 and froms[0]["value"] == "${BASE_IMAGE}"
    args = {i["value"].split("=")[0]: i["value"] for i in instructions(dfp, "ARG")}
    assert args["BASE_IMAGE"] == "BASE_IMAGE=${OVMS_CPP_DOCKER_IMAGE}:${OVMS_CPP_IMAGE_TAG}"
    assert args["OVMS_CPP_IMAGE_TAG"] == "OVMS_CPP_IMAGE_TAG"  # no second source of the tag
    assert "BASE_OS" in args
    before = [i["value"].split("=")[0] for i in dfp.structure
              if i["instruction"] == "ARG" and i["startline"] < froms[0]["startline"]]
    assert {"OVMS_CPP_DOCKER_IMAGE", "OVMS_CPP_IMAGE_TAG", "BASE_IMAGE"} <= set(before)


def test_root_for_installs_then_ovms(dfp):
    users = [i["value"] for i in instructions(dfp, "USER")]
    assert users == ["root", "ovms"]
    user_lines = [i["startline"] for i in instructions(dfp, "USER")]
    runs = [i["startline"] for i in instructions(dfp, "RUN")]
    assert runs and all(user_lines[0] < r < user_lines[1] for r in runs)
    assert user_lines[1] < instructions(dfp, "ENTRYPOINT")[0]["startline"]


def test_env_entrypoint_and_cmd(dfp):
    env = dfp.envs
    assert env["LD_LIBRARY_PATH"] == "/ovms/lib" and env["PYTHONPATH"] == "/ovms/lib/python"
    assert instructions(dfp, "ENTRYPOINT")[0]["value"] == '["/ovms/bin/ovms"]'
    assert "--config_path" in instructions(dfp, "CMD")[0]["value"]


def test_the_runs_are_the_tested_scripts_in_order(dfp):
    """Install Python, install requirements, then the check, after the code is copied."""
    runs = [i["value"] for i in instructions(dfp, "RUN")]
    assert len(runs) == 3
    assert runs[0] == 'sh /tmp/ragbot/image/install_python.sh "$BASE_OS"'
    assert "sh /tmp/ragbot/image/install_requirements.sh /tmp/ragbot/requirements.txt" in runs[1]
    assert 'TORCH_INDEX_URL="$TORCH_INDEX_URL"' in runs[1]
    assert runs[2].startswith("PYTHONDONTWRITEBYTECODE=1 ovms-python /tmp/ragbot/image/check_image.py "
                              "--requirements /tmp/ragbot/requirements.txt")
    assert "rm -rf /tmp/ragbot /root/.cache" in runs[2]
    copies = [i["value"] for i in instructions(dfp, "COPY")]
    assert copies == ["deploy/image/ /tmp/ragbot/image/", "requirements.txt /tmp/ragbot/requirements.txt",
                      "--chown=ovms servable_stream/ /workspace/"]
    copy_code = [i["startline"] for i in instructions(dfp, "COPY")][2]
    assert copy_code < instructions(dfp, "RUN")[2]["startline"]  # the check imports the servable
    assert any(i["value"].startswith("TORCH_INDEX_URL=") and i["value"].endswith("/whl/cpu")
               for i in instructions(dfp, "ARG"))


def test_every_run_and_script_is_valid_posix_sh(dfp):
    sh = shutil.which("dash") or shutil.which("sh")
    for run in instructions(dfp, "RUN"):
        res = subprocess.run([sh, "-n", "-c", run["value"]], capture_output=True, text=True)
        assert res.returncode == 0, (run["startline"], res.stderr)
    for script in IMAGE_SCRIPTS.glob("*.sh"):
        res = subprocess.run([sh, "-n", str(script)], capture_output=True, text=True)
        assert res.returncode == 0, (script.name, res.stderr)


def test_pip_without_cache_cpu_torch_and_no_torchvision():
    text = (IMAGE_SCRIPTS / "install_requirements.sh").read_text()
    assert "--no-cache-dir" in text and "--ignore-installed" in text
    assert '--extra-index-url "$index"' in text and "download.pytorch.org/whl/cpu" in text
    assert 'pip uninstall -y torchvision' in text
    text = (IMAGE_SCRIPTS / "install_python.sh").read_text()
    assert 'rm -rf "$var_dir"/lib/apt/lists/*' in text and "--no-install-recommends" in text
    assert "microdnf clean all" in text and "dnf clean all" in text


# --- the scripts on a fake image layout --------------------------------------------------

@pytest.fixture(scope="module")
def pyovms_so(tmp_path_factory):
    so = compile_pyovms(tmp_path_factory.mktemp("pyovms"))
    if so is None:
        pytest.skip("no C compiler or Python.h: cannot build the fake pyovms.so")
    return so


def test_ubi_picks_python312_and_the_image_check_passes(pyovms_so, tmp_path):
    """UBI 9's python3 is 3.9, OVMS 2026 embeds 3.12: the python3.12 packages are installed,
    and the check passes although the bundled openvino's dist-info says 2026.4 and ovms
    prints 2026.4.1 (the comparison the old Dockerfile made failed on every such image)."""
    image = make_fake_image(tmp_path, pyovms_so, "redhat", managers=("microdnf",))
    res = image.run_script("install_python.sh", "redhat")
    assert res.returncode == 0, res.stderr
    assert "pyovms is built for python3.12" in res.stdout
    calls = image.calls()
    assert calls[0] == "microdnf install -y --nodocs --setopt=install_weak_deps=0 python3.12 python3.12-pip"
    assert "microdnf clean all" in calls
    assert os.readlink(image.local_bin / "ovms-python") == str(image.bin / "python3.12")
    assert calls[-1] == "python3.12 -m pip --version"

    res = image.run_script("install_requirements.sh", str(REPO / "requirements.txt"),
                           PYTHON=str(image.local_bin / "ovms-python"), CACHE_DIR=str(tmp_path / "cache"))
    assert res.returncode == 0, res.stderr
    calls = image.calls()
    install = next(c for c in calls if " -m pip install " in c)
    assert install.startswith("python3.12 -m pip install --no-cache-dir --ignore-installed "
                              "--extra-index-url https://download.pytorch.org/whl/cpu -r ")
    assert "torch==2.13.0+cpu" in calls  # the constraint file, CPU torch of the pin
    assert "python3.12 -m pip uninstall -y torchvision" in calls

    res = image.check()  # the full list: pyovms, bundled openvino, the servable's modules
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "ok: pyovms imports" in out
    assert re.search(r"ok: openvino 2026\.4\.1-\S+ imports from \S+/ovms/lib/python/openvino \(bundled\)", out)
    assert "note: openvino's dist-info says 2026.4 " in out
    assert "ok: ovms --version: OpenVINO backend 2026.4.1, the same runtime" in out
    assert "ok: requirements.txt pins openvino 2026.4.1, the image's runtime" in out
    assert "ok: imports optimum.intel:OVModelForCausalLM" in out and "ok: imports ragbot.answering.service" in out
    assert out.rstrip().endswith("image check passed")


def test_ubuntu_installs_pip_for_the_python_ovms_embeds(pyovms_so, tmp_path):
    image = make_fake_image(tmp_path, pyovms_so, "ubuntu", managers=("apt-get",))
    res = image.run_script("install_python.sh", "ubuntu")
    assert res.returncode == 0, res.stderr
    calls = image.calls()
    assert calls[:2] == ["apt-get update", "apt-get install -y --no-install-recommends python3-pip"]
    assert "apt-get clean" in calls
    assert not any((tmp_path / "var/lib/apt/lists").iterdir())
    assert os.readlink(image.local_bin / "ovms-python") == str(image.bin / "python3.12")
    res = image.check("--modules", "numpy")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok: ovms --version: OpenVINO backend 2026.4.1" in res.stdout


def test_the_check_fails_on_what_would_break_at_run_time(pyovms_so, tmp_path):
    image = make_fake_image(tmp_path, pyovms_so, "ubuntu")
    assert image.run_script("install_python.sh", "ubuntu").returncode == 0

    image.set_ovms_version("2026.3.0", "2026.3.0-21000-abc")
    res = image.check("--modules", "")
    assert res.returncode == 1
    assert "FAIL: ovms runs OpenVINO 2026.3.0 but Python imports openvino 2026.4.1" in res.stdout
    image.set_ovms_version("2026.4.1", "2026.4.1-22982-e213a147257")

    old_pin = tmp_path / "requirements.txt"
    old_pin.write_text("openvino==2025.2.0\n")
    res = image.check("--modules", "", requirements=old_pin)
    assert res.returncode == 1 and "FAIL: requirements.txt pins openvino 2025.2.0 but this image " \
        "runs OpenVINO 2026.4.1" in res.stdout
    old_pin.write_text("openvino==2026.4.0\n")  # another patch of the same release: a note
    res = image.check("--modules", "", requirements=old_pin)
    assert res.returncode == 0 and "note: requirements.txt pins openvino 2026.4.0" in res.stdout

    (image.bundled / "openvino").unlink()  # not bundled: Python finds pip's copy instead
    (image.bundled / "pyovms.so").unlink()
    res = image.check("--modules", "")
    assert res.returncode == 1
    assert "FAIL: pyovms does not import in this Python" in res.stdout
    assert "(NOT the bundled copy)" in res.stdout


def test_python_for_pyovms_reads_what_the_image_holds(pyovms_so, tmp_path):
    image = make_fake_image(tmp_path, pyovms_so, "redhat", bundle=False)
    run = lambda os_name: image.run_script("python_for_pyovms.sh", os_name).stdout.strip()  # noqa: E731
    assert run("ubuntu") == "python3.12"  # what pyovms.so links
    (image.bundled / "pyovms.so").write_bytes(b"no name here")
    (image.bundled / "openvino").mkdir()
    (image.bundled / "openvino" / "_pyopenvino.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    assert run("ubuntu") == "python3.11"  # the bundled openvino's ABI tag
    shutil.rmtree(image.bundled / "openvino")
    (tmp_path / "usr/lib64/libpython3.12.so.1.0").write_bytes(b"")
    assert run("ubuntu") == "python3.12"  # the libpython the image installs
    (tmp_path / "usr/lib64/libpython3.12.so.1.0").unlink()
    assert (run("redhat"), run("ubuntu")) == ("python3.12", "python3")


def test_a_missing_interpreter_and_a_bad_os_fail_clearly(tmp_path):
    so = compile_pyovms(tmp_path / "so313", "libpython3.13")
    if so is None:
        pytest.skip("no C compiler")
    image = make_fake_image(tmp_path / "img", so, "ubuntu", bundle=False)
    res = image.run_script("install_python.sh", "ubuntu")
    assert res.returncode != 0
    assert "python3.13 (the Python pyovms is built for) is not installed" in res.stderr
    image = make_fake_image(tmp_path / "img2", so, "ubuntu", bundle=False)
    res = image.run_script("install_python.sh", "alpine")
    assert res.returncode != 0 and "BASE_OS must be ubuntu or redhat" in res.stderr
    assert image.calls() == []


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
    "servable_stream/sample_docs/openvino_model_server.md", "deploy/image/install_python.sh",
    "deploy/image/check_image.py",
])
def test_dockerignore_keeps_what_the_image_needs(path, ignore_patterns):
    assert not _docker_ignored(path, ignore_patterns)


@pytest.mark.parametrize("path", [
    ".git/HEAD", ".venv/bin/python", ".cache/huggingface/x", "tests/artifacts/run.log",
    "servable_stream/tiny-llama-1b-chat/openvino_model.bin",
    "servable_stream/tiny-llama-1b-chat_INT4_compressed_weights/openvino_model.bin",
    "servable_stream/all-mpnet-base-v2/model.safetensors",
    "servable_stream/ragbot/__pycache__/settings.cpython-312.pyc", "servable_stream/.index/faiss.bin",
    "client/app.py", "benchmarks/run.py", "deploy/check_image_tag.py", "deploy/kubernetes/pvc.yaml",
    "deploy/image/__pycache__/check_image.cpython-312.pyc",
])
def test_dockerignore_leaves_out_models_caches_and_the_rest(path, ignore_patterns):
    assert _docker_ignored(path, ignore_patterns)


def test_the_fake_layout_is_what_the_scripts_look_for(pyovms_so, tmp_path):
    """Guard for the fakes themselves: the bundled dist-info says X.Y, the packages are real."""
    image = make_fake_image(tmp_path, pyovms_so, "redhat")
    meta = (image.bundled / "openvino-4.dist-info" / "METADATA").read_text()
    assert "Version: 2026.4\n" in meta
    assert (image.bundled / "openvino" / "__init__.py").is_file()
    assert Path(os.path.realpath(image.bundled / "openvino")).name == "openvino"
