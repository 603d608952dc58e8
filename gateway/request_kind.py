"""Is a chat request a question for the documents, or a client's own task?

Chat UIs send more than the user's questions. Open WebUI, with its defaults, asks the chat
model itself for a title, tags and follow-up suggestions after (or beside) each question;
those prompts start with a "### Task:" header, carry the conversation in a
`<chat_history>` block and want a JSON object back (recorded bodies:
tests/gateway/fixtures/openwebui-0.12.4/). Answering them through RAG adds passages about
"Generate 1-3 broad tags" to the prompt, sources to the reply and the repetition guard's
cut to a JSON list. Such a request is a *task*: a plain completion, no retrieval, no loop
guard (the servable's `"retrieval": false, "loop_guard": false`).

A request is a task when
- the client asks for JSON with `response_format` (`json_object` or `json_schema`);
- a system (or developer) message of its own asks for JSON;
- its last user message opens with a task header ("### Task:", as Open WebUI's title,
  tags, follow-up, query and autocomplete prompts do);
- it names a plain model id (`python_model-plain`: catalog.py), whatever it says.
Everything else is a question, answered from the documents as before. A user who types
"What is JSON?" is asking a question: the word alone decides nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestKind", "classify", "QUESTION"]

_TASK_HEADER = re.compile(r"\A\s*#{1,6}\s*task\s*:", re.IGNORECASE)
_JSON = re.compile(r"\bjson\b", re.IGNORECASE)
_JSON_FORMATS = ("json_object", "json_schema")
SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class RequestKind:
    task: bool
    why: str  # for the request log: "question", "task prompt", "response_format", ...

    @property
    def name(self) -> str:
        return "task" if self.task else "chat"


QUESTION = RequestKind(False, "question")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def classify(body: dict[str, Any], plain_model: bool = False) -> RequestKind:
    """The kind of a (structurally valid) chat-completions body."""
    if plain_model:
        return RequestKind(True, "plain model")
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in _JSON_FORMATS:
        return RequestKind(True, "response_format")
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if any(m.get("role") in SYSTEM_ROLES and _JSON.search(_text(m.get("content")))
           for m in messages):
        return RequestKind(True, "system prompt asks for JSON")
    if messages and messages[-1].get("role") == "user" \
            and _TASK_HEADER.match(_text(messages[-1].get("content"))):
        return RequestKind(True, "task prompt")
    return QUESTION
