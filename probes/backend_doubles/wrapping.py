"""A backend around a real one: everything delegated, so a double changes only what it names."""
from __future__ import annotations

from typing import Iterator

from ragbot.backends.contract import Backend, GenerationOptions
from ragbot.run import RunContext


class WrappedBackend(Backend):
    def __init__(self, inner: Backend):
        super().__init__(inner.tokenizer, inner.stop_strings, inner.seed)
        self.inner = inner
        self.name = f"{type(self).__name__}({inner.name})"

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        return self.inner.generate(prompt, options, run)

    def close(self) -> None:
        self.inner.close()

    def count_tokens(self, prompt: str) -> int:
        return self.inner.count_tokens(prompt)

    def encode(self, prompt: str) -> list[int]:
        return self.inner.encode(prompt)
