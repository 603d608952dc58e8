"""forced-output: the optimum backend saying exactly what a test wants.

RAGBOT_TEST_FORCED_OUTPUTS holds a JSON list of [needle, text]: when a rendered prompt holds a
needle (the first that matches), the model's logits allow only the tokens of `text`, then
end-of-sequence. Everything after the logits is the product's code: the streamer, incremental
detokenisation, stop strings, the loop guard, citation renumbering, end_signal. Prompts that
match nothing get the model's own (random) words.
"""
from __future__ import annotations

import json
import os
import threading
from typing import Any, Iterator

from ragbot.backends.contract import Backend, GenerationOptions
from ragbot.backends.optimum import OptimumBackend, load_optimum
from ragbot.run import RunContext
from ragbot.settings import Settings

from .model_hooks import ModelWithProcessors
from .prompt_log import with_prompt_log


class ForcedOutputs:
    """The forced tokens of each prompt on its way to the model, keyed by its token ids."""

    def __init__(self, pairs: list[tuple[str, str]], tokenizer: Any):
        self._pairs = pairs
        self._tokenizer = tokenizer
        self._pending: dict[tuple[int, ...], list[int]] = {}
        self._lock = threading.Lock()

    def expect(self, prompt: str, prompt_ids: list[int]) -> None:
        text = next((t for needle, t in self._pairs if needle in prompt), None)
        if text is None:
            return
        ids = list(self._tokenizer(text, add_special_tokens=False)["input_ids"])
        with self._lock:
            self._pending[tuple(prompt_ids)] = ids + [self._tokenizer.eos_token_id]

    def processors(self, input_ids: Any) -> list:
        with self._lock:
            forced = self._pending.pop(tuple(input_ids[0].tolist()), None)
        if forced is None:
            return []
        from .logits import ForceTokens

        return [ForceTokens(forced, int(input_ids.shape[1]))]


class ForcedOutputBackend(OptimumBackend):
    def __init__(self, real: OptimumBackend, pairs: list[tuple[str, str]]):
        self.forced = ForcedOutputs(pairs, real.tokenizer)
        super().__init__(ModelWithProcessors(real.model, self.forced.processors), real.tokenizer,
                         real.stop_strings, real.seed)

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        self.forced.expect(prompt, self.encode(prompt))  # before the worker thread asks the model
        return super().generate(prompt, options, run)


def load_forced_output(settings: Settings) -> Backend:
    pairs = [(needle, text) for needle, text in json.loads(os.environ.get("RAGBOT_TEST_FORCED_OUTPUTS") or "[]")]
    return with_prompt_log(ForcedOutputBackend(load_optimum(settings), pairs))
