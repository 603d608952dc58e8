"""The query that retrieval searches with, for questions that lean on earlier turns.

"When was it decommissioned?" finds nothing on its own; joined with the previous user turn
("Tell me about the Marrow Point Lighthouse.") it finds the lighthouse. Self-contained
questions are searched as they are: a question counts as a follow-up only when there is
history and it refers back (a pronoun such as "it" or "there", or a leading "and" / "what
about") or is too short to name its subject; the chain also tries the history when the
question alone retrieves nothing convincing (FOLLOWUP_MIN_SCORE) and keeps whichever
search scores better.

    QUERY_REWRITE=join  the previous user turn + the question (default: no model call)
    QUERY_REWRITE=llm   the model rewrites the question as a standalone one (greedy, short)
    QUERY_REWRITE=off   the question alone
"""
from __future__ import annotations

import re
from typing import Callable, Sequence

from ..settings import QUERY_REWRITES

MODES = QUERY_REWRITES
_REFERS_BACK = re.compile(
    r"\b(it|its|it's|they|them|their|there|this|that|these|those|he|she|him|her|his|hers|"
    r"one|ones|the same|former|latter)\b|^\s*(and|also|what about|how about|and what|so)\b",
    re.IGNORECASE)
SHORT_WORDS = 3

REWRITE_INSTRUCTIONS = (
    "Rewrite the last question of this conversation so that it can be understood without the "
    "conversation: name what it is about. Reply with the rewritten question only."
)


def is_follow_up(question: str, history: Sequence[tuple[str, str]]) -> bool:
    if not any(role == "user" for role, _ in history):
        return False
    return bool(_REFERS_BACK.search(question)) or len(question.split()) <= SHORT_WORDS


def search_query(question: str, history: Sequence[tuple[str, str]], mode: str,
                 rewrite: Callable[[list[dict[str, str]]], str] | None = None,
                 force: bool = False) -> str:
    """The text to retrieve with; `rewrite(messages)` runs the model (mode "llm");
    `force`: treat the question as a follow-up (the caller found the question alone weak)."""
    has_user_turn = any(role == "user" for role, _ in history)
    if mode == "off" or not has_user_turn or not (force or is_follow_up(question, history)):
        return question
    previous = [content for role, content in history if role == "user"][-1]
    if mode == "llm" and rewrite is not None:
        turns = "\n".join(f"{role}: {content}" for role, content in history[-4:])
        messages = [{"role": "system", "content": REWRITE_INSTRUCTIONS},
                    {"role": "user", "content": f"{turns}\nuser: {question}"}]
        rewritten = rewrite(messages).strip().splitlines()
        if rewritten and rewritten[0].strip():
            return rewritten[0].strip()
    return f"{previous} {question}"
