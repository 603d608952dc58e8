"""Local text for the benchmarks: the Python standard library's sources, line by line (the
32k tokenizer is trained on it and the exact-length prompts are cut from it)."""
from __future__ import annotations

import sysconfig
from pathlib import Path

CORPUS_BYTES = 12_000_000  # enough text for a 32k byte-level BPE vocabulary


def corpus_lines():
    total = 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        yield from text.splitlines()
        total += len(text)
        if total > CORPUS_BYTES:
            return
