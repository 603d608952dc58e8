"""Where the benchmark keeps its built artefacts (git-ignored)."""
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CACHE = BENCH / ".cache"
MODELS = CACHE / "models"
RESULTS = BENCH / "results.json"
