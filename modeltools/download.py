"""download_model.py's logic: a hub preset is exported, tiny-random is built locally."""
from __future__ import annotations

import time
from pathlib import Path

from ragbot.hub import export_from_hub
from ragbot.presets import get_preset

from .sizes import human_size, folder_size


def download_llm(name: str, output_dir: Path) -> Path:
    preset = get_preset(name)
    dest = Path(output_dir) / preset.name
    started = time.monotonic()
    if preset.hub_id is None:
        from .tiny_random import build_tiny_random

        print(f"Building {preset.name} locally (random weights, for tests) in {dest}", flush=True)
        build_tiny_random(dest)
    else:
        print(f"Exporting {preset.hub_id} to OpenVINO IR in {dest}", flush=True)
        export_from_hub(preset, dest)
    print(
        f"{preset.name} ready in {dest} "
        f"({human_size(folder_size(dest))}, {time.monotonic() - started:.1f} s)"
    )
    return dest
