"""What every LLM backend is: the contract the answering path uses, and the one loop that
turns a backend's token ids into text chunks.

    backend.generate(prompt, options, run) -> Iterator[str]

`prompt` is the rendered chat prompt; `options` (GenerationOptions) the per-request limits;
`run` (ragbot.run.RunContext) carries the cancel switch and the stats the backend fills.
A backend also offers `tokenizer` (HF tokenizer: its chat template renders prompts) and
`count_tokens(prompt)` (the budget fits prompts with it).

A backend's generating side (a worker thread, or the genai driver) puts events on a queue:

    ("ids", [int, ...])*  then  ("done", "stop" | "length" | "cancelled")  or  ("error", exc)

and `stream_text` consumes them in the caller's thread: incremental decoding, text stop
strings (cut before they are shown), the loop guard (an answer repeating itself ends with
finish_reason "stop"), stats, and `release()` of the generation however the consumer ends
(exhausted, stop string, loop, closed early). Backends: optimum.py (one
OVModelForCausalLM, one stream at a time), genai.py (openvino-genai continuous batching).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import GenerationError
from ..run import GenerationStats, RunContext
from .token_text import LoopGuard, TextAssembler


@dataclass(frozen=True)
class GenerationOptions:
    max_new_tokens: int
    temperature: float | None = None  # None or 0: greedy
    ignore_eos: bool = False  # exactly max_new_tokens: no end-of-sequence, no stop strings
    stop: tuple[str, ...] = ()  # text stops beyond the preset's
    loop_guard: bool = True  # False: structured output (JSON lists repeat legitimately)

    @property
    def guard_loops(self) -> bool:
        """Whether stream_text stops an answer that repeats itself: not for a forced length
        (ignore_eos), not when the request turned the guard off."""
        return self.loop_guard and not self.ignore_eos


class Backend:
    """What both backends share: the HF tokenizer, the preset's stops, token counting."""

    name = "backend"

    def __init__(self, tokenizer: Any, stop_strings: tuple[str, ...] = (), seed: int | None = None):
        self.tokenizer = tokenizer
        self.stop_strings = tuple(stop_strings)
        self.seed = seed

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        """The answer's text pieces. Any iterator will do; one with a close() (a generator)
        has it called when the answer stops early, to release the request."""
        raise NotImplementedError

    def close(self) -> None:
        """Free what the backend holds (threads, pipelines); idempotent."""

    def count_tokens(self, prompt: str) -> int:
        return len(self.encode(prompt))

    def encode(self, prompt: str) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token", None)
        # a chat template usually writes the BOS itself: don't add a second one
        add_special = not (bos and prompt.startswith(bos))
        return list(self.tokenizer(prompt, add_special_tokens=add_special)["input_ids"])

    def split_stops(self, options: GenerationOptions, eos_ids: list[int]) -> tuple[list[int], tuple[str, ...]]:
        """Preset + request stops: those that are one special token become eos ids (decoding
        would hide them), the rest stay text stops. `ignore_eos`: none at all."""
        if options.ignore_eos:
            return [], ()
        stop_strings = tuple(dict.fromkeys((*self.stop_strings, *options.stop)))
        eos_ids = list(eos_ids)
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(self.tokenizer.eos_token_id)
        special = set(self.tokenizer.all_special_tokens) | set(self.tokenizer.get_added_vocab())
        text_stops = []
        for s in stop_strings:
            if s in special:
                eos_ids.append(self.tokenizer.convert_tokens_to_ids(s))
            else:
                text_stops.append(s)
        return list(dict.fromkeys(eos_ids)), tuple(text_stops)


def stream_text(events, tokenizer: Any, text_stops: tuple[str, ...], stats: GenerationStats,
                release: Callable[[], None], guard_loops: bool = True) -> Iterator[str]:
    """The consume loop of every backend (see the module docstring); `guard_loops=False`
    (GenerationOptions.guard_loops: ignore_eos, or a request's loop_guard off) lets an answer
    run to its length whatever it says."""
    text = TextAssembler(tokenizer, text_stops)
    loop = LoopGuard() if guard_loops else None
    try:
        while True:
            kind, payload = events.get()
            if kind == "ids":
                piece = text.push(payload)
                if piece:
                    yield piece
                if text.stop_hit or (loop is not None and loop.push(payload)):  # it stops now
                    stats.finish_reason = "stop"
                    return
            elif kind == "error":
                stats.finish_reason = "error"
                raise GenerationError(f"generation failed: {type(payload).__name__}: {payload}") from payload
            else:
                piece = text.finish()
                if piece:
                    yield piece
                stats.finish_reason = "stop" if text.stop_hit else payload
                return
    finally:
        stats.completion_tokens = text.generated
        release()
