"""RAGBOT_TEST_PROMPT_LOG: every rendered prompt appended to that file, one JSON string a line,
so a test can read what the model was given."""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterator

from ragbot.backends.contract import Backend, GenerationOptions
from ragbot.run import RunContext

from .wrapping import WrappedBackend


class PromptLog(WrappedBackend):
    def __init__(self, inner: Backend, path: Path):
        super().__init__(inner)
        self.path = path
        self._lock = threading.Lock()  # concurrent streams: whole lines

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(prompt) + "\n")
        return self.inner.generate(prompt, options, run)


def with_prompt_log(backend: Backend) -> Backend:
    """`backend`, logging its prompts when RAGBOT_TEST_PROMPT_LOG names a file."""
    path = os.environ.get("RAGBOT_TEST_PROMPT_LOG")
    return PromptLog(backend, Path(path)) if path else backend
