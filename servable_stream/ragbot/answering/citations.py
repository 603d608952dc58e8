"""Citations in an answer: which `[n]` point at passages the model was given.

The prompt asks the model to cite passages by number. After the answer, every passage is
marked `cited` when its number appears, and numbers outside 1..passages are reported as
invalid (end_signal "invalid_citations"), so a client can flag them: the text has already
streamed, so it is not rewritten.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Citations:
    cited: frozenset[int]  # valid passage numbers (1-based) the answer cites
    invalid: tuple[int, ...]  # numbers that name no passage, in order of appearance


def check_citations(answer: str, passages: int) -> Citations:
    numbers = [int(n) for n in _CITATION.findall(answer)]
    valid = frozenset(n for n in numbers if 1 <= n <= passages)
    invalid = tuple(dict.fromkeys(n for n in numbers if not 1 <= n <= passages))
    return Citations(valid, invalid)
