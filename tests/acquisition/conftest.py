"""Fixtures for the model-tooling tests: offline, built on the tiny random model."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from probes.models import tiny_random_dir
from tests.scripts import PRECISION_DIRS, closed_port, run_script


@dataclass(frozen=True)
class CompressRun:
    folders: dict[str, Path]  # "FP32", "FP16", "INT8", "INT4" -> model folder
    stdout: str


@pytest.fixture()
def unreachable_hub_env(tmp_path) -> dict:
    """Env for a script whose hub is down and whose HF cache is empty (no token)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_TOKEN")}
    env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    env["HF_HOME"] = str(tmp_path / "hf-home")
    return env


@pytest.fixture(scope="session")
def compressed_models(tmp_path_factory) -> CompressRun:
    """FP32 tiny-random plus its three variants made by compress_model.py (once per session)."""
    workdir = tmp_path_factory.mktemp("compress")
    shutil.copytree(tiny_random_dir(), workdir / "tiny-random")
    result = run_script("compress_model.py", "--model", "tiny-random", "--output_dir", str(workdir))
    assert result.returncode == 0, result.stderr[-2000:]
    folders = {p: workdir / name for p, name in PRECISION_DIRS.items()}
    return CompressRun({"FP32": workdir / "tiny-random", **folders}, result.stdout)
