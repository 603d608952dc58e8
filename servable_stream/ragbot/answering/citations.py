"""Citations in an answer: which `[n]` point at passages the model was given, and whether
the cited passage holds what the text citing it says.

The prompt asks the model to cite passages by number. After the answer, every passage is
marked `cited` when its number appears; numbers outside 1..passages are reported as
invalid (end_signal "invalid_citations"); and a citation is reported unsupported
("unsupported_citations") when the words it backs name a number or a name that none of the
passages cited there contains: "The tower is 42 metres tall [1]" while passage 1 says 31.
The text has already streamed, so it is not rewritten afterwards; clients flag what the
lists name. What a citation backs is the text between it and the previous citation (or the
sentence start); adjacent citations ("[1][2]", "[1, 2]") back the same text together.

An answer that cites nothing though it was given passages (and does not refuse) gets the
passage that best holds its numbers and names appended as a citation (`attribute`), and
end_signal lists it in "attributed_citations": the servable's attribution, not the model's.

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
from typing import Sequence

_CITATION = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_CITED_NUMBER = re.compile(r"\d{1,3}")
# what may still become a citation at the end of a chunk: "[", "[1", "[1,", "[1, 2"
_OPEN_TAIL = re.compile(r"\[(?:\d{1,3}(?:\s*,\s*\d{1,3})*\s*,?\s*)?$")
_GROUP = re.compile(r"(?:\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\])+")  # adjacent citations
_FACT_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_NAME = re.compile(r"(?<![\w'’-])[A-Z][\w'’&-]*[A-Za-z0-9](?:\s+[A-Z][\w'’&-]*[A-Za-z0-9])*")
_SENTENCE_END = re.compile(r"[.!?:;\n]\s*$")
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
}
# Capitalised words that are not names: sentence starts, pronouns, the answer's own words.
_NOT_NAMES = frozenset("""a an the this that these those it its they their there he she his her
i we you your our yes no not and or but if when while so as at by for from in of on to with
according also both each however in yes passage passages document documents source sources
answer question note""".split())


@dataclass(frozen=True)
class Citations:
    cited: frozenset[int]  # valid passage numbers (1-based) the answer cites
    invalid: tuple[int, ...]  # numbers that name no passage, in order of appearance
    unsupported: tuple[int, ...] = ()  # valid numbers whose passages miss a number/name cited


def cited_numbers(answer: str) -> list[int]:
    """Every number the answer cites, in order of appearance (repeats kept)."""
    return [int(n) for m in _CITATION.finditer(answer) for n in _CITED_NUMBER.findall(m.group(1))]


def check_citations(answer: str, passages: int | Sequence[str]) -> Citations:
    """`passages`: the passage texts (heading + text), or just how many there were."""
    count = passages if isinstance(passages, int) else len(passages)
    numbers = cited_numbers(answer)
    valid = frozenset(n for n in numbers if 1 <= n <= count)
    invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= count))
    unsupported: tuple[int, ...] = ()
    if not isinstance(passages, int):
        unsupported = tuple(dict.fromkeys(_unsupported(answer, list(passages))))
    return Citations(valid, invalid, unsupported)


def _unsupported(answer: str, passages: list[str]):
    texts = [_searchable(p) for p in passages]
    start = 0
    for group in _GROUP.finditer(answer):
        claim = answer[start:group.start()]
        start = group.end()
        cited = [n for n in cited_numbers(group.group()) if 1 <= n <= len(passages)]
        if not cited:
            continue
        union = " ".join(texts[n - 1] for n in cited)
        if any(fact not in union for fact in claim_facts(_last_sentence(claim))):
            yield from cited


_WORD = re.compile(r"[a-z][a-z'-]{3,}")
_COMMON = frozenset("""about above after again also because been before being below between both
could does doing down during each from further have having here into itself more most must only
other over same should some such than that their them then there these they this those through
under until very were what when where which while will with would your according passages
passage documents document""".split())


def attribute(answer: str, passages: Sequence[str]) -> int | None:
    """The passage (1-based) that best holds what an answer without citations says: the one
    containing the most of its numbers and names, then of its other words. None when none
    holds a number or name of it, or a third of its words (the answer is not from them)."""
    facts = claim_facts(answer)
    words = {w for w in _WORD.findall(answer.lower()) if w not in _COMMON}
    best, best_score = None, 0.0
    for number, passage in enumerate(passages, start=1):
        text = _searchable(passage)
        found = sum(fact in text for fact in facts)
        share = sum(w in text for w in words) / len(words) if words else 0.0
        if found == 0 and share < 1 / 3:
            continue
        score = found + share
        if score > best_score:
            best, best_score = number, score
    return best


def without_citations(text: str) -> str:
    """The text with its [n] taken out (a citation's number is no figure of the claim)."""
    return _CITATION.sub(" ", text)


def figures(text: str) -> set[str]:
    """The numbers a text states, normalised as `claim_facts` normalises them: "40,000" as
    "40000", number words also as digits ("thirty" -> "30"); digits inside a word ("H5",
    "E4") are names, not figures."""
    return {m.group() for m in _FACT_NUMBER.finditer(_searchable(text))}


def _last_sentence(text: str) -> str:
    """The claim a citation backs: its text back to the previous sentence end."""
    parts = re.split(r"(?<=[.!?])\s+|\n", text.strip())
    return parts[-1] if parts else ""


def claim_facts(claim: str) -> set[str]:
    """The numbers and names in a claim, normalised as `_searchable` normalises passages."""
    facts = {_number(m.group()) for m in _FACT_NUMBER.finditer(claim)}
    for m in _NAME.finditer(claim):
        words = m.group().split()
        if m.start() == 0 or _SENTENCE_END.search(claim[:m.start()]):
            words = words[1:]  # capitalised because it starts the sentence
        facts.update(_normal(w) for w in words
                     if (len(w) > 2 or any(c.isdigit() for c in w)) and _normal(w) not in _NOT_NAMES)
    return {f for f in facts if f}


_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_WORD_NUMBER = re.compile(rf"\b(?:(?:{_TENS})[- ](?:{_UNITS})|" + "|".join(_NUMBER_WORDS) + r")\b")


def _word_value(words: str) -> int:
    return sum(_NUMBER_WORDS[w] for w in re.split(r"[- ]", words))


def _searchable(text: str) -> str:
    """A passage's text, lowercased, numbers without thousands separators, number words
    also as digits ("twenty-four" -> "twenty-four 24"), so a claim's facts can be looked up."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower())
    return _WORD_NUMBER.sub(lambda m: f"{m.group()} {_word_value(m.group())}", text)


def _number(text: str) -> str:
    return re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)


def _normal(word: str) -> str:
    return word.lower().strip("'’")


class _CitationStream:
    """Streamed text passed on with its citations rewritten (`_rewrite`); a chunk ending in
    what may be the start of a citation ("[1") is held back until the next chunk or `flush()`."""

    def __init__(self):
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

    def _rewrite(self, text: str) -> str:
        raise NotImplementedError


class CitationRepair(_CitationStream):
    """Re-points a streamed [n] to the passage that holds what it backs: "Flights must be booked
    at least 14 days ahead [2]" becomes [1] when passage 2 (the policy's scope) lacks 14 and
    passage 1 holds every number and name of the claim (the best-ranked such passage). The
    model numbers passages by position and often cites the wrong one of a document
    (eval/README.md). Only a lone number with text of its own is re-pointed: a list
    ("[1, 2]") or a citation adjacent to another stays as written, and one that no passage
    backs completely stays too, for `check_citations` to flag. `repaired` lists (from, to)
    for the log."""

    def __init__(self, passages: Sequence[str]):
        super().__init__()
        self._texts = [_searchable(p) for p in passages]
        self._claim = ""  # what was emitted since the last citation
        self.repaired: list[tuple[int, int]] = []

    def _rewrite(self, text: str) -> str:
        out, pos = [], 0
        for match in _CITATION.finditer(text):
            self._claim += text[pos:match.start()]
            out += [text[pos:match.start()], self._repair(match.group(0))]
            self._claim, pos = "", match.end()
        self._claim += text[pos:]
        out.append(text[pos:])
        return "".join(out)

    def _repair(self, citation: str) -> str:
        numbers = cited_numbers(citation)
        if len(numbers) != 1 or not 1 <= numbers[0] <= len(self._texts) or not self._claim.strip():
            return citation
        n = numbers[0]
        facts = claim_facts(_last_sentence(self._claim))
        if not facts or all(fact in self._texts[n - 1] for fact in facts):
            return citation
        for k, text in enumerate(self._texts, start=1):
            if all(fact in text for fact in facts):
                self.repaired.append((n, k))
                return f"[{k}]"
        return citation


class CitationRenumbering(_CitationStream):
    """Rewrites [n] in streamed text to the order of first citation; `order()` gives the
    passages (their original 1-based numbers) in the new order."""

    def __init__(self, passages: int):
        super().__init__()
        self.passages = passages
        self._new_number: dict[int, int] = {}  # original -> new

    def order(self) -> list[int]:
        """Original passage numbers, cited ones first (in order of first citation), then the
        others by rank."""
        cited = list(self._new_number)
        return cited + [n for n in range(1, self.passages + 1) if n not in self._new_number]

    def _rewrite(self, text: str) -> str:
        return _CITATION.sub(self._citation, text)

    def _citation(self, match: re.Match) -> str:
        return "[" + _CITED_NUMBER.sub(lambda m: str(self._renumber(int(m.group(0)))), match.group(1)) + "]"

    def _renumber(self, n: int) -> int:
        if not 1 <= n <= self.passages:
            return n  # names no passage: left for invalid_citations to report
        if n not in self._new_number:
            self._new_number[n] = len(self._new_number) + 1
        return self._new_number[n]
