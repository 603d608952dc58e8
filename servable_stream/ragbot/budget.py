"""Fit the prompt and the answer into the model's context window.

Up to a quarter of the window (or max_new_tokens if less) is kept for the answer:
to make room, the oldest history turns go first, then the lowest-ranked passages;
then the answer gets what is left. A question that alone does not fit is the client's error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from langchain_core.documents import Document

from .errors import InvalidRequestError
from .prompt import build_messages

@dataclass(frozen=True)
class FittedPrompt:
    prompt: str
    hits: list[tuple[Document, float]]  # the passages the model actually sees
    max_new_tokens: int


def fit_prompt(
    question: str,
    history: Sequence[tuple[str, str]],
    hits: Sequence[tuple[Document, float]],
    max_new_tokens: int,
    context_window: int,
    render: Callable[[list[dict[str, str]]], str],
    count_tokens: Callable[[str], int],
) -> FittedPrompt:
    history, hits = list(history), list(hits)
    wanted_answer = min(max_new_tokens, context_window // 4)
    while True:
        prompt = render(build_messages(question, history, hits))
        prompt_tokens = count_tokens(prompt)
        if prompt_tokens + wanted_answer <= context_window or not (history or hits):
            break
        if history:
            history = history[1:]
        else:
            hits = hits[:-1]
    room = context_window - prompt_tokens
    if room < 1:
        raise InvalidRequestError(
            f"the question is too long: the prompt needs {prompt_tokens} tokens and the "
            f"model's context window is {context_window}"
        )
    return FittedPrompt(prompt, hits, min(max_new_tokens, room))
