"""Which of the retrieved documents a question names: "What does E4 mean on the Brevik H5?"
names the H5 manual (its title holds "H5", the H3 manual's does not).

A look-alike document that the question does not name is where a small model takes a wrong
answer from (the H3's E4 line for the H5) or a near miss's invented one (the MPL's 60 days
for "How many days' notice does the Apache License require?"). So when the question names
one of the documents its passages come from, the passages come from that one only; when it
names several ("the Marrow Point and the Gull Rock lighthouses"), from those, taking turns
(retrieval.py, NAMED_DOCUMENTS).

A name is a word of the question written as one: capitalised (not as the first word) or
holding a digit and a letter ("H5"); lower-case words ("work", "marsh") never count, nor do
bare numbers ("2.0"). It names a document when that document's title holds it and no other
candidate's title does: "Tallow & Finch" names neither of the company's two policies.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping

_WORD = re.compile(r"[^\W_](?:[\w&'’.-]*[^\W_])?")


def _fold(word: str) -> str:
    word = word.casefold()
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


def question_names(question: str) -> set[str]:
    """The words of the question written as names (case-folded)."""
    names = set()
    for position, match in enumerate(_WORD.finditer(question)):
        word = match.group(0)
        has_digit = any(c.isdigit() for c in word)
        has_alpha = any(c.isalpha() for c in word)
        if has_digit and has_alpha:
            names.add(_fold(word))
        elif has_alpha and word[0].isupper() and position > 0:
            names.add(_fold(word))
    return names


def title_words(title: str) -> set[str]:
    return {_fold(m.group(0)) for m in _WORD.finditer(title or "")}


def named_documents(question: str, titles: Mapping[str, str]) -> set[str]:
    """The documents (keys of `titles`: source -> title) that the question names."""
    names = question_names(question)
    if not names or len(titles) < 2:
        return set()
    words = {source: title_words(title) for source, title in titles.items()}
    named = set()
    for source, own in words.items():
        others = set().union(*(w for s, w in words.items() if s != source))
        if (own - others) & names:
            named.add(source)
    return named


def titles_of(docs: Iterable) -> dict[str, str]:
    """source -> title of LangChain documents, in order of first appearance."""
    out: dict[str, str] = {}
    for doc in docs:
        source = str(doc.metadata.get("source", ""))
        out.setdefault(source, str(doc.metadata.get("title") or source))
    return out
