"""Token text handling shared by the backends: new token ids in, text chunks out.

IncrementalDecoder decodes only the newest tokens (a short sliding window, never the whole
answer again); StopCutter cuts text stop strings, looking only at the not-yet-emitted tail;
TextAssembler combines both (contract.stream_text drives it); LoopGuard stops an answer
that repeats itself.
Per token the cost is O(window), so a long answer costs O(n), not O(n^2).
"""
from __future__ import annotations

from typing import Any, Iterable


class IncrementalDecoder:
    """Decode a growing list of token ids chunk by chunk.

    Both texts are decoded from the same start token (`prefix`), so tokenizers that drop a
    leading space at the start of a decode give the same text the full decode would.
    """

    def __init__(self, tokenizer: Any):
        self._tokenizer = tokenizer
        self._ids: list[int] = []
        self._prefix = 0  # window start
        self._read = 0  # tokens up to here were emitted as text

    @property
    def count(self) -> int:
        return len(self._ids)

    def push(self, ids: Iterable[int]) -> str:
        self._ids.extend(ids)
        return self._new_text(final=False)

    def flush(self) -> str:
        """What is left at the end (an incomplete character is emitted as decoded)."""
        return self._new_text(final=True)

    def _new_text(self, final: bool) -> str:
        if self._read >= len(self._ids):
            return ""
        decode = self._tokenizer.decode
        before = decode(self._ids[self._prefix : self._read], skip_special_tokens=True)
        now = decode(self._ids[self._prefix :], skip_special_tokens=True)
        if len(now) <= len(before) or (now.endswith("\ufffd") and not final):
            return ""  # nothing visible yet, or half a multi-byte character
        self._prefix, self._read = self._read, len(self._ids)
        return now[len(before) :]


class StopCutter:
    """Cut text at the first stop string; hold back a tail that may start one."""

    def __init__(self, stop_strings: Iterable[str]):
        self._stops = tuple(s for s in stop_strings if s)
        self._pending = ""
        self.stop_hit = False

    def feed(self, text: str) -> str:
        """Text that is safe to emit now."""
        if self.stop_hit:
            return ""
        if not self._stops:
            return text
        pending = self._pending + text  # earlier text was checked: a stop can only start here
        cuts = [i for i in (pending.find(s) for s in self._stops) if i >= 0]
        if cuts:
            self.stop_hit, self._pending = True, ""
            return pending[: min(cuts)]
        held = self._held_back(pending)
        self._pending = pending[len(pending) - held :] if held else ""
        return pending[: len(pending) - held]

    def flush(self) -> str:
        out, self._pending = ("" if self.stop_hit else self._pending), ""
        return out

    def _held_back(self, text: str) -> int:
        longest = 0
        for s in self._stops:
            for n in range(min(len(s) - 1, len(text)), longest, -1):
                if text.endswith(s[:n]):
                    longest = n
                    break
        return longest


class LoopGuard:
    """Notices an answer that has started repeating itself ("The answer is: The answer is:
    ..."), a failure mode of small models: the newest tokens are one block of `span` tokens
    said `repeats` times in a row (at least MIN_REPEATED tokens in all). Only the answer's
    own tokens count, so copying a passage from the prompt is not a loop (transformers'
    no_repeat_ngram_size also counts the prompt, and blocks exactly that copying)."""

    MAX_SPAN = 48
    MIN_REPEATS = 3
    MIN_REPEATED = 12

    def __init__(self):
        self._ids: list[int] = []
        self.looping = False

    def push(self, ids: Iterable[int]) -> bool:
        self._ids.extend(ids)
        ids_ = self._ids
        for span in range(1, self.MAX_SPAN + 1):
            repeats = max(self.MIN_REPEATS, -(-self.MIN_REPEATED // span))
            if span * repeats > len(ids_):
                break
            tail = ids_[-span:]
            if all(ids_[-span * (i + 1): len(ids_) - span * i] == tail for i in range(1, repeats)):
                self.looping = True
                break
        return self.looping


class TextAssembler:
    """ids -> emitted text: incremental decoding, then stop strings."""

    def __init__(self, tokenizer: Any, stop_strings: Iterable[str]):
        self._decoder = IncrementalDecoder(tokenizer)
        self._cutter = StopCutter(stop_strings)

    @property
    def generated(self) -> int:
        return self._decoder.count

    @property
    def stop_hit(self) -> bool:
        return self._cutter.stop_hit

    def push(self, ids: Iterable[int]) -> str:
        if self._cutter.stop_hit:
            return ""
        return self._cutter.feed(self._decoder.push(ids))

    def finish(self) -> str:
        if self._cutter.stop_hit:
            return ""
        return self._cutter.feed(self._decoder.flush()) + self._cutter.flush()
