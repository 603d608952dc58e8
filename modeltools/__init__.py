"""Logic behind the root scripts download_model.py, compress_model.py and
download_embedding_model.py (the scripts only parse flags and report errors).

Importing this package puts `servable_stream/` on sys.path, so `ragbot`
(presets, hub export) is shared with the servable instead of copied.
"""
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVABLE_DIR = REPO_ROOT / "servable_stream"

if str(SERVABLE_DIR) not in sys.path:
    sys.path.insert(0, str(SERVABLE_DIR))
