"""Logic behind the root scripts download_model.py, compress_model.py and
download_embedding_model.py (the scripts only parse flags and report errors).

They share `ragbot` (presets, hub export) with the servable instead of copying it; the
project is installed (pyproject.toml), so both import from anywhere.
"""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVABLE_DIR = REPO_ROOT / "servable_stream"
