"""Online mode: model folders missing at startup are pulled from the hub, as in the seed's
first deployment (mount just `servable_stream/`, set SELECTED_MODEL, start OVMS).

Exports land in `$HF_HOME/ovms_rag/<name>` beside the hub's own download cache, so the
next start reuses them without network. Only the *default* folder of a preset triggers a
download: an explicit LLM_MODEL_DIR (say `…_INT8_compressed_weights`) that is missing is
a mistake to report, not a reason to fetch an uncompressed model. Where the hub can't be
reached the model stays not ready, and the error names the script that prepares the
folder offline.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from ..errors import ModelMissingError
from ..settings import Settings
from .embedding_weights import compress_embedding_weights
from .hub import PROBE_TIMEOUT_S, HubError, is_llm_folder, staging_dir
from .llm_export import ensure_llm_folder

log = logging.getLogger(__name__)

EMBEDDING_HUB_ORG = "sentence-transformers"


def online_dir(name: str) -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HOME) / "ovms_rag" / name


def with_llm_folder(settings: Settings) -> Settings:
    """`settings` whose llm_model_dir holds a model, pulling the preset if it must."""
    folder = Path(settings.llm_model_dir)
    preset = settings.preset
    if is_llm_folder(folder) or folder.name != preset.name or preset.hub_id is None:
        return settings  # present, or explicit: the loader reports a missing folder
    cached = online_dir(preset.name)
    if not is_llm_folder(cached):
        log.info("LLM folder %s not found: online mode, exporting %s from the hub into %s",
                 folder, preset.hub_id, cached)
        try:
            ensure_llm_folder(preset, cached)
        except HubError as exc:
            raise ModelMissingError(
                f"LLM model folder {folder} not found and online mode failed: {exc}. "
                f"Prepare it offline with `python download_model.py --model {preset.name}`"
            ) from None
    log.info("LLM folder %s not found: using the online-mode export %s", folder, cached)
    return dataclasses.replace(settings, llm_model_dir=cached)


def embedding_folder(settings: Settings) -> Path:
    """The embedding folder to load, pulling the model from the hub if it must."""
    folder = Path(settings.embedding_model_dir)
    name = settings.embedding_model
    if folder.is_dir() or folder.name != name:
        return folder
    cached = online_dir(name)
    if (cached / "modules.json").is_file():
        log.info("embedding folder %s not found: using the online-mode export %s", folder, cached)
        return cached
    hub_id = f"{EMBEDDING_HUB_ORG}/{name}"
    log.info("embedding folder %s not found: online mode, exporting %s into %s", folder, hub_id, cached)
    try:
        _export_embedding(hub_id, cached)
    except Exception as exc:  # noqa: BLE001 - hub and network errors come from several libraries
        raise ModelMissingError(
            f"embedding model folder {folder} not found and online mode could not get {hub_id} "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}). Prepare it offline "
            f"with `python download_embedding_model.py --model {name}`"
        ) from None
    return cached


def _export_embedding(hub_id: str, dest: Path) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    # probe first: an unreachable hub is a quick, clear failure rather than a long retry loop
    get_hf_file_metadata(hf_hub_url(hub_id, "modules.json"), timeout=PROBE_TIMEOUT_S)
    from sentence_transformers import SentenceTransformer

    with staging_dir(dest) as tmp:
        SentenceTransformer(hub_id, backend="openvino", device="cpu").save_pretrained(str(tmp))
        compress_embedding_weights(tmp)  # as download_embedding_model.py writes it
