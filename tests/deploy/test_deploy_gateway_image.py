"""Dockerfile.gateway parsed (no Docker engine here): the client-side requirements only, the
client and gateway packages, an unprivileged user, `python -m gateway`; its own ignore file."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from dockerfile_parse import DockerfileParser

REPO = Path(__file__).resolve().parents[2]


def test_gateway_image_installs_client_requirements_and_runs_the_gateway():
    dfp = DockerfileParser(fileobj=open(REPO / "Dockerfile.gateway", "rb"))
    steps = [(i["instruction"], i["value"]) for i in dfp.structure if i["instruction"] != "COMMENT"]
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [v for k, v in steps if k == "RUN"]
    assert any("pip install --no-cache-dir -r /app/client_requirements.txt" in r for r in runs)
    copies = [v.split()[0] for k, v in steps if k == "COPY"]
    assert copies == ["client_requirements.txt", "client", "gateway"]
    users = [v for k, v in steps if k == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert json.loads(dict(steps)["ENTRYPOINT"]) == ["python", "-m", "gateway"]
    assert "8001" in dict(steps)["EXPOSE"]


def test_gateway_ignore_file_allows_only_what_the_image_copies():
    lines = [l for l in (REPO / "Dockerfile.gateway.dockerignore").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert lines[0] == "*"
    assert {l[1:] for l in lines if l.startswith("!")} == {"client_requirements.txt", "client", "gateway"}


def test_client_requirements_pull_no_openvino_or_torch():
    names = {l.split("==")[0].split("[")[0].lower() for l in
             (REPO / "client_requirements.txt").read_text().splitlines() if "==" in l}
    assert {"starlette", "uvicorn", "tritonclient", "httpx"} <= names
    assert not names & {"openvino", "torch", "optimum-intel", "openvino-genai"}


def test_make_gateway_image_prints_the_build():
    out = subprocess.run(["make", "-n", "gateway_image"], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout
    assert "build -f Dockerfile.gateway -t ragbot-gateway:latest ." in out
