"""Citations in an answer: which `[n]` point at passages the model was given.

The prompt asks the model to cite passages by number. After the answer, every passage is
marked `cited` when its number appears, and numbers outside 1..passages are reported as
invalid (end_signal "invalid_citations"), so a client can flag them: the text has already
streamed, so it is not rewritten afterwards.

A request with `renumber_citations` gets the numbers rewritten *while* the answer streams
(`CitationRenumbering`): the first passage the answer cites becomes [1], the next one [2],
..., and the sources are then sent in that order (cited ones first, then the others by
rank). A client that numbers sources by their position (Open WebUI) then resolves every [n]
and lists the cited passages first. Only this side knows how many passages there are before
the first token, so only here can the rewrite be safe: a number that names no passage is
left as it is. A list like "[1, 3]" is a citation of each number.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_NUMBER = re.compile(r"\d{1,3}")
# what may still become a citation at the end of a chunk: "[", "[1", "[1,", "[1, 2"
_OPEN_TAIL = re.compile(r"\[(?:\d{1,3}(?:\s*,\s*\d{1,3})*\s*,?\s*)?$")


@dataclass(frozen=True)
class Citations:
    cited: frozenset[int]  # valid passage numbers (1-based) the answer cites
    invalid: tuple[int, ...]  # numbers that name no passage, in order of appearance


def cited_numbers(answer: str) -> list[int]:
    """Every number the answer cites, in order of appearance (repeats kept)."""
    return [int(n) for m in _CITATION.finditer(answer) for n in _NUMBER.findall(m.group(1))]


def check_citations(answer: str, passages: int) -> Citations:
    numbers = cited_numbers(answer)
    valid = frozenset(n for n in numbers if 1 <= n <= passages)
    invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= passages))
    return Citations(valid, invalid)


class CitationRenumbering:
    """Rewrites [n] in streamed text to the order of first citation; `order()` gives the
    passages (their original 1-based numbers) in the new order. A chunk ending in what may
    be the start of a citation ("[1") is held back until the next chunk or `flush()`."""

    def __init__(self, passages: int):
        self.passages = passages
        self._new_number: dict[int, int] = {}  # original -> new
        self._held = ""

    def feed(self, text: str) -> str:
        text = self._held + text
        tail = _OPEN_TAIL.search(text)
        cut = tail.start() if tail else len(text)
        self._held = text[cut:]
        return self._rewrite(text[:cut])

    def flush(self) -> str:
        held, self._held = self._held, ""
        return self._rewrite(held)

    def order(self) -> list[int]:
        """Original passage numbers, cited ones first (in order of first citation), then the
        others by rank."""
        cited = list(self._new_number)
        return cited + [n for n in range(1, self.passages + 1) if n not in self._new_number]

    def _rewrite(self, text: str) -> str:
        return _CITATION.sub(self._citation, text)

    def _citation(self, match: re.Match) -> str:
        return "[" + _NUMBER.sub(lambda m: str(self._renumber(int(m.group(0)))), match.group(1)) + "]"

    def _renumber(self, n: int) -> int:
        if not 1 <= n <= self.passages:
            return n  # names no passage: left for invalid_citations to report
        if n not in self._new_number:
            self._new_number[n] = len(self._new_number) + 1
        return self._new_number[n]
