"""Shared helpers: exact-length prompts, timing, and the subprocess/JSON protocol.

Every heavy measurement runs in its own child process (`python -m benchmarks.X '<json args>'`)
so one backend's memory and threads never disturb the next, and only one runs at a time.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .corpus import corpus_lines
from .paths import BENCH, CACHE

PROMPT_TOKENS = 1000
NEW_TOKENS = 128
OV_CACHE_DIR = str(CACHE / "ov_cache")  # compiled-blob cache: faster loads, same speed
_MARK = "@@RESULT@@"


def prompt_ids(tokenizer_dir: str | Path, n: int = PROMPT_TOKENS, offset: int = 0) -> list[int]:
    """Exactly n token ids (BOS + text from the stdlib corpus); offset picks different text."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    text, lines = [], corpus_lines()
    for _ in range(offset * 400 + (n * 2)):  # lines are short: ~2 tokens-plus each
        text.append(next(lines))
    text = "\n".join(text[offset * 400:])
    ids = tok(text)["input_ids"]
    assert len(ids) >= n, len(ids)
    return ids[:n]


def emit(result: dict) -> None:
    """Child side: print the result as the last line for the parent to pick up."""
    print(_MARK + json.dumps(result), flush=True)


def child_args() -> dict:
    return json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}


def run_child(module: str, args: dict | None = None, timeout: float = 1800,
              env: dict | None = None) -> dict:
    """Parent side: run `python -m benchmarks.<module>` and return its result (or the error)."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", json.dumps(args or {})],
                          cwd=BENCH.parent, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    wall = round(time.perf_counter() - t0, 1)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_MARK):
            result = json.loads(line[len(_MARK):])
            result["_wall_s"] = wall
            return result
    tail = (proc.stderr or proc.stdout)[-3000:]
    return {"error": f"{module} exited {proc.returncode}", "stderr_tail": tail, "_wall_s": wall}


class Clock:
    """Token-arrival clock: call start(), then tick() once per generated token."""

    def __init__(self):
        self.t0 = self.first = self.last = None
        self.n = 0

    def start(self):
        self.t0 = time.perf_counter()

    def tick(self, k: int = 1):
        now = time.perf_counter()
        if self.first is None:
            self.first = now
        self.last = now
        self.n += k

    def summary(self) -> dict:
        decode_s = self.last - self.first
        return {"ttft_s": round(self.first - self.t0, 3), "request_s": round(self.last - self.t0, 3),
                "new_tokens": self.n,
                "decode_tok_s": round((self.n - 1) / decode_s, 2) if decode_s > 0 else None}
