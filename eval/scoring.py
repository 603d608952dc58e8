"""Scoring of `make eval`: one answered question -> its marks; many -> the figures.

Pure functions over plain data (the question from questions.json, the answer text and
the end_signal's sources), so the rules are unit-tested without a model:

- retrieval: the rank of the gold document among the sources the model saw (1-based,
  None when absent) gives hit@1, hit@k (k = passages given) and MRR;
- right: a gold string appears in the answer as a whole word, case-insensitive;
- citation valid: the answer cites at least one passage, every `[n]` is a passage that was
  given, and a cited passage comes from the gold document (which holds the fact);
- refused: the answer says the documents don't have it (unanswerable questions should).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from statistics import mean
from typing import Iterable, Sequence

ANSWERABLE = ("fact", "paraphrase", "followup")
SINGLE_TURN = ("fact", "paraphrase")

_CITATION = re.compile(r"\[(\d{1,3})\]")
_REFUSAL = re.compile(
    r"\b(?:"
    r"(?:do not|don't|does not|doesn't|did not|didn't) (?:know|say|mention|contain|cover|"
    r"provide|include|specify|state|have)"
    r"|(?:is|are|was|were) not (?:explicitly |specifically |directly )?(?:mentioned|provided|covered|specified|stated|given|"
    r"included|available|known|listed)"
    r"|(?:isn't|aren't|wasn't) (?:mentioned|provided|covered|specified|stated|given|listed)"
    r"|not (?:mentioned|covered|specified|stated) in"
    r"|no (?:information|mention|details|data|context)"
    r"|(?:cannot|can't|could not|couldn't|unable to) (?:find|answer|determine|tell|say|provide)"
    r"|not enough information"
    r"|there is no"
    r")\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Marks:
    id: str
    kind: str
    rank: int | None  # of the gold document among the sources; None: not among them
    passages: int  # how many passages the model saw
    right: bool | None  # None for unanswerable questions
    refused: bool
    cited: tuple[int, ...]  # the [n] in the answer, in order of appearance, no repeats
    citation_valid: bool | None  # None when the answer cites nothing or has no gold doc
    prompt_tokens: int
    completion_tokens: int

    def to_json(self) -> dict:
        return asdict(self)


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """A gold string in `text` as a whole word or number, case-insensitive."""
    for gold in golds:
        # not inside a word or a number: "5" is not in "1.5" or "150", "3" not in "3.8"
        pattern = r"(?<![\w.,])" + re.escape(gold.strip()) + r"(?![\w]|[.,]\d)"
        if re.search(pattern, text, re.IGNORECASE):
            return True
    return False


def is_refusal(text: str) -> bool:
    return bool(_REFUSAL.search(text)) or not text.strip()


def citations(text: str) -> tuple[int, ...]:
    return tuple(dict.fromkeys(int(n) for n in _CITATION.findall(text)))


def gold_rank(sources: Sequence[dict], doc: str | None) -> int | None:
    if doc is None:
        return None
    for rank, source in enumerate(sources, start=1):
        if _doc_name(source.get("source", "")) == doc:
            return rank
    return None


def mark(question: dict, answer: str, end: dict) -> Marks:
    """The marks of one answer; `end` is the decoded end_signal JSON."""
    sources = end.get("sources") or []
    doc = question.get("doc")
    cited = citations(answer)
    valid = None
    if cited and doc is not None:
        in_range = all(1 <= n <= len(sources) for n in cited)
        valid = in_range and any(_doc_name(sources[n - 1].get("source", "")) == doc
                                 for n in cited if 1 <= n <= len(sources))
    usage = end.get("usage") or {}
    return Marks(
        id=question["id"],
        kind=question["kind"],
        rank=gold_rank(sources, doc),
        passages=len(sources),
        right=contains_answer(answer, question["answer"]) if question["kind"] in ANSWERABLE else None,
        refused=is_refusal(answer),
        cited=cited,
        citation_valid=valid,
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
    )


def figures(marks: Sequence[Marks], k: int) -> dict:
    """The configuration's figures (rates in 0..1, rounded to 3 places; None if undefined)."""
    answerable = [m for m in marks if m.kind in ANSWERABLE]
    single = [m for m in marks if m.kind in SINGLE_TURN]
    followups = [m for m in marks if m.kind == "followup"]
    unanswerable = [m for m in marks if m.kind == "unanswerable"]
    citing = [m for m in answerable if m.citation_valid is not None]
    # retrieval figures when the configuration retrieves at all; an answerable question that
    # got no passage (the cut-off) is a miss, not left out
    retrieved = answerable if any(m.passages for m in marks) else []
    followups_retrieved = followups if retrieved else []
    return {
        "questions": len(marks),
        "hit_at_1": _rate(m.rank == 1 for m in retrieved),
        f"hit_at_{k}": _rate(m.rank is not None and m.rank <= k for m in retrieved),
        "mrr": _round(mean(1 / m.rank if m.rank else 0.0 for m in retrieved)) if retrieved else None,
        "followup_hit_at_k": _rate(m.rank is not None and m.rank <= k for m in followups_retrieved),
        "answer_accuracy": _rate(m.right for m in single),
        "followup_accuracy": _rate(m.right for m in followups),
        "citation_rate": _rate(bool(m.cited) for m in answerable),
        "citation_validity": _rate(m.citation_valid for m in citing),
        "refusal_rate": _rate(m.refused for m in unanswerable),
        "false_refusal_rate": _rate(m.refused and not m.right for m in answerable),
        "prompt_tokens_mean": _round(mean(m.prompt_tokens for m in marks), 1) if marks else None,
        "completion_tokens_mean": _round(mean(m.completion_tokens for m in marks), 1) if marks else None,
    }


def _rate(values: Iterable[bool]) -> float | None:
    values = [bool(v) for v in values]
    return _round(sum(values) / len(values)) if values else None


def _round(value: float, places: int = 3) -> float:
    return round(float(value), places)


def _doc_name(source: str) -> str:
    return source.replace("\\", "/").rsplit("/", 1)[-1]
