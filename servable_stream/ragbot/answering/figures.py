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

from .prompt import REFUSAL

_FIGURE = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_WORD = re.compile(r"[a-z]+")
_CITATION = re.compile(r"\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")
# the first sentence ends at . ! or ? before a space (not inside "2.0") or at a newline; a list
# marker before it ("1. ", "- ") is neither its end nor a figure
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
_LEAD = re.compile(r"\s*(?:(?:\d{1,2}[.)]|[-*•])\s+)?")
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13",
    "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18",
    "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
    "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100", "thousand": "1000",
}


def figures(text: str) -> set[str]:
    """The figures a text states, normalised: "40,000" and "40000" alike, "thirty" as "30";
    digits inside words ("H5", "E4") are names, not figures."""
    found = set()
    for match in _FIGURE.finditer(text):
        value = match.group(0)
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):  # thousands separators
            value = value.replace(",", "")
        found.add(value.rstrip(".,"))
    found.update(_NUMBER_WORDS[w] for w in _WORD.findall(text.lower()) if w in _NUMBER_WORDS)
    return found


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
        stated = figures(_CITATION.sub(" ", text[_LEAD.match(text).end():end]))
        missing = sorted(stated - self.known)
        if missing:
            self.withheld = tuple(missing)
            return REFUSAL
        return text
