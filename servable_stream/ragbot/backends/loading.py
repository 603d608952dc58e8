"""Load the LLM backend that settings name, after the checks whose errors say how to fix
them: the OpenVINO device exists, the model folder holds a model (online mode may pull a
preset's missing default folder first). Which factory builds it is the registry's
(registry.py: the built-ins and what LLM_BACKEND_PLUGINS registers)."""
from __future__ import annotations

from pathlib import Path

from ..acquisition.online import with_llm_folder
from ..errors import ConfigError, ModelMissingError
from ..settings import Settings
from .contract import Backend
from .registry import backend_factory


def check_device(device: str) -> None:
    import openvino as ov

    available = ov.Core().available_devices
    if not any(d == device or d.startswith(device + ".") for d in available):
        raise ConfigError(
            f"DEVICE: OpenVINO device {device} is not available; available devices: {', '.join(available)}"
        )


def check_model_dir(model_dir: Path, preset_name: str) -> None:
    if (Path(model_dir) / "openvino_model.xml").is_file():
        return
    hint = f"`python download_model.py --model {preset_name}`"
    if Path(model_dir).name.endswith(("_compressed_weights", "_FP16")):
        hint += f" then `python compress_model.py --model {preset_name}`"
    state = "has no openvino_model.xml" if Path(model_dir).is_dir() else "not found"
    raise ModelMissingError(f"LLM model folder {model_dir} {state}; create it with {hint}")


def load_backend(settings: Settings) -> Backend:
    """Load the model once, with the backend settings.llm_backend names."""
    # an unknown name or a broken plugin fails before anything is checked or downloaded
    factory = backend_factory(settings.llm_backend, settings.llm_backend_plugins)
    check_device(settings.device)
    settings = with_llm_folder(settings)  # online mode: a missing default folder is pulled
    check_model_dir(settings.llm_model_dir, settings.selected_model)
    return factory(settings)
