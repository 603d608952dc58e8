"""An answer whose first sentence states a figure that nothing the model was given holds is
refused before it reaches the client (FIGURE_CHECK).

Asked about a fact the documents lack ("In which year was the MPL 2.0 published?"), a small
model answers with an invented figure ("in 2004 [1]") more often than it refuses. A figure
is checkable: the passages, the question and the conversation either hold it or they do not.
So the answer's first sentence, the claim itself, is held back until it ends; if it states
a figure (a number, or a number word: "thirty") found in none of them, the answer becomes
the refusal and the generation stops. Otherwise the sentence goes out whole and the rest
streams as it comes. The cost: the first sentence reaches the client at once rather than
token by token. Later sentences have streamed by the time they end; an invented figure there
is only flagged (end_signal's unsupported_citations, citations.py).
"""
from __future__ import annotations

import re
from typing import Iterable

from .citations import figures, without_citations
from .prompt import REFUSAL

# the first sentence ends at . ! or ? before a space (not inside "2.0") or at a newline; a list
# marker before it ("1. ", "- ") is neither its end nor a figure
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_LEAD = re.compile(r"\s*(?:(?:\d{1,2}[.)]|[-*•])\s+)?")


def first_sentence_end(text: str) -> int | None:
    """Where the first sentence of `text` ends (after its . ! ? or newline), or None."""
    match = _SENTENCE_END.search(text, _LEAD.match(text).end())
    return None if match is None else match.end()


class FigureCheck:
    """Holds back the answer's first sentence; `feed` gives what may be sent now, `flush` at
    the end of the generation. `withheld`: the figures that turned the answer into the refusal
    (the generation should stop: `decided` and `withheld` both set)."""

    def __init__(self, given: Iterable[str]):
        self.known = set().union(*(figures(text) for text in given))
        self._held: list[str] = []
        self.decided = False
        self.withheld: tuple[str, ...] = ()

    def feed(self, piece: str) -> str:
        if self.decided:
            return "" if self.withheld else piece
        self._held.append(piece)
        text = "".join(self._held)
        if first_sentence_end(text) is None:
            return ""
        return self._decide(text)

    def flush(self) -> str:
        if self.decided:
            return ""
        return self._decide("".join(self._held))

    def _decide(self, text: str) -> str:
        self.decided = True
        self._held = []
        end = first_sentence_end(text) or len(text)
        stated = figures(without_citations(text[_LEAD.match(text).end():end]))
        missing = sorted(stated - self.known)
        if missing:
            self.withheld = tuple(missing)
            return REFUSAL
        return text
