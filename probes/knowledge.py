"""A three-document knowledge base and the environment that serves it with the test models."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVABLE = REPO / "servable_stream"

KNOWLEDGE = {
    "zorblat.md": "# Zorblat fruit\n\nThe zorblat is a purple fruit grown on the island of Kelvara. "
    "Farmers harvest zorblats every spring and press them into a sweet violet juice.\n",
    "quantum_bakery.txt": "Quantum Bakery opening hours\n\nThe Quantum Bakery in Millbrook opens at "
    "seven in the morning and sells sourdough bread, croissants and rye loaves until noon.\n",
    "rivers.md": "# Rivers of Norland\n\nThe Silverrun river flows north through Norland for 840 "
    "kilometres and freezes solid every winter, when people skate on it.\n",
}


def write_knowledge(folder: Path) -> Path:
    """Write the sample documents and a docs.txt listing them; return docs.txt."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in KNOWLEDGE.items():
        (folder / name).write_text(text, encoding="utf-8")
    docs = folder / "docs.txt"
    docs.write_text("# test knowledge base\n" + "\n".join(KNOWLEDGE) + "\n", encoding="utf-8")
    return docs


def rag_env(docs_file: Path, **extra: str) -> dict[str, str]:
    """Environment for a host serving servable_stream/ with the offline test models."""
    from .models import minilm_dir, tiny_random_dir

    env = {
        "SELECTED_MODEL": "tiny-random",
        "LLM_MODEL_DIR": str(tiny_random_dir()),
        "EMBEDDING_MODEL": "all-MiniLM-L6-v2",
        "EMBEDDING_MODEL_DIR": str(minilm_dir()),
        "DOCS_FILE": str(docs_file),
        "MAX_NEW_TOKENS": "512",
        "SEED": "7",
    }
    env.update(extra)
    return env
