"""ScriptedBackend: the backend contract with a fixed answer, for in-process tests of what
comes after the model (citations and their checks, attribution, renumbering, end_signal)
that must not depend on what a model happens to say."""
from __future__ import annotations

from typing import Any, Iterator

from ragbot.backends.contract import Backend, GenerationOptions
from ragbot.run import RunContext


class ScriptedBackend(Backend):
    name = "scripted"

    def __init__(self, tokenizer: Any, text: str):
        super().__init__(tokenizer)
        self.text = text

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        run.stats.finish_reason = "stop"
        yield self.text
