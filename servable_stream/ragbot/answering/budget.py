"""Fit the prompt and the answer into the model's context window.

Up to a quarter of the window (or max_new_tokens if less) is kept for the answer:
to make room, the oldest history turns go first, then the lowest-ranked passages, then
the best passage is truncated (a long chunk never fails a request); then the answer gets
what is left. A question that alone does not fit is the client's error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from langchain_core.documents import Document

from ..errors import InvalidRequestError
from .prompt import PromptStyle, build_messages

TRUNCATED = " […]"


@dataclass(frozen=True)
class FittedPrompt:
    prompt: str
    hits: list  # the knowledge.index.Hit passages the model actually sees
    max_new_tokens: int


def fit_prompt(
    question: str,
    history: Sequence[tuple[str, str]],
    hits: Sequence,
    max_new_tokens: int,
    context_window: int,
    render: Callable[[list[dict[str, str]]], str],
    count_tokens: Callable[[str], int],
    closed_book: bool = False,
    style: PromptStyle = PromptStyle(),
) -> FittedPrompt:
    history, hits = list(history), list(hits)
    wanted_answer = min(max_new_tokens, context_window // 4)
    limit = context_window - wanted_answer

    def tokens(hist, passages) -> tuple[str, int]:
        prompt = render(build_messages(question, hist, passages, closed_book, style))
        return prompt, count_tokens(prompt)

    while True:
        prompt, prompt_tokens = tokens(history, hits)
        if prompt_tokens <= limit or not (history or hits):
            break
        if history:
            history = history[1:]
        elif len(hits) > 1:
            hits = hits[:-1]
        else:
            best = _truncated_passage(hits[0], lambda hit: tokens([], [hit])[1] <= limit)
            hits = [best] if best is not None else []
    room = context_window - prompt_tokens
    if room < 1:
        raise InvalidRequestError(
            f"the question is too long: the prompt needs {prompt_tokens} tokens and the "
            f"model's context window is {context_window}; shorten the question"
        )
    return FittedPrompt(prompt, hits, min(max_new_tokens, room))


def _truncated_passage(hit, fits: Callable):
    """The longest prefix of the passage (cut at a space when possible) that fits, or None."""
    doc = hit[0]
    text = doc.page_content

    def cut(n: int):
        head = text[:n]
        space = head.rfind(" ")
        if space > n // 2:
            head = head[:space]
        return hit._replace(doc=Document(page_content=head.rstrip() + TRUNCATED, metadata=dict(doc.metadata)))

    lo, hi = 0, len(text)  # binary search on characters: O(log n) renders
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(cut(mid)):
            lo = mid
        else:
            hi = mid - 1
    return cut(lo) if lo > 0 else None
