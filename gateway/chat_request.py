"""An OpenAI chat-completions body -> the servable's request (question, history, options).

The last message is the question and must come from the user; earlier user/assistant turns
are the history. System (and developer) messages are folded into the history as user turns
marked "(system)": the servable's own RAG instructions stay in charge, and the client's
instructions still reach the prompt as context. The Markdown sources footnote this gateway
may have appended to an earlier answer is taken out of the history (sources.py).

`tools` are ignored (counted and logged by the app) unless `tool_choice` forces a call ("required"
or a named function), which this model cannot make: a 400. Open WebUI sends its builtin tools
with every message and no tool_choice. Tool calls in the history and n > 1 are refused.
Unknown fields are ignored, as OpenAI-compatible servers commonly do.

A client's own tasks (request_kind.py: Open WebUI's title, tags and follow-ups, JSON asked
for, a plain model id) go to the servable as plain completions: `"retrieval": false,
"loop_guard": false`, and `"background": true` (the servable lets a question that is waiting
for its first token go first), with at most `task_max_tokens` new tokens (without the loop
guard a small model that repeats itself would otherwise run to Open WebUI's 1000).
Questions ask for `"renumber_citations": true`, so the [n] in the text follow the order of
the sources the client lists (cited ones first).

Chat UIs resend the whole conversation every turn; the servable refuses a pre_prompt over its
MAX_PROMPT_BYTES, so the oldest history turns are dropped until the request fits (the servable
itself drops the oldest turns first when the context window is short).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from client.wire import WireRequest
from gateway.errors import BadRequestError
from gateway.request_kind import QUESTION, RequestKind, classify
from gateway.sources import strip_footnote

__all__ = ["ChatRequest", "parse_chat_request", "decode_body", "requested_model"]

MAX_TEMPERATURE = 2.0
SYSTEM_ROLES = ("system", "developer")


@dataclass(frozen=True)
class ChatRequest:
    model: str
    question: str
    history: list[dict[str, str]] = field(default_factory=list)
    max_new_tokens: int | None = None
    temperature: float | None = None
    stream: bool = False
    include_usage: bool = False
    sources_footnote: bool = False
    kind: RequestKind = QUESTION
    tools_ignored: int = 0  # tools the client offered (and the model cannot call)

    def wire_request(self) -> WireRequest:
        """The servable's request: a task is a plain completion, a question asks for the
        passages with citations renumbered (the module's docstring says why)."""
        task = self.kind.task
        return WireRequest(self.question, tuple(self.history), max_new_tokens=self.max_new_tokens,
                           temperature=self.temperature, retrieval=not task, loop_guard=not task,
                           renumber_citations=not task, background=task)

    def pre_prompt(self, max_bytes: int | None = None) -> bytes:
        """The servable's pre_prompt JSON (the wire contract), oldest history turns dropped
        while it is over `max_bytes`."""
        request = self.wire_request()
        while True:
            payload = request.encode()
            if max_bytes is None or len(payload) <= max_bytes or not request.history:
                return payload
            request = replace(request, history=request.history[1:])


def decode_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError(f"the request body is not valid JSON: {exc}", "invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequestError("the request body must be a JSON object", "invalid_json")
    return body


def _text(content: Any, where: str) -> str:
    """Message content: a string, or a list of text parts (images etc. are refused)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not (isinstance(part, dict) and part.get("type") == "text"
                    and isinstance(part.get("text"), str)):
                raise BadRequestError(f"{where}: only text content parts are supported")
            parts.append(part["text"])
        return "\n".join(parts)
    raise BadRequestError(f"{where}.content must be a string or a list of text parts")


def _turns(messages: Any) -> tuple[str, list[dict[str, str]]]:
    if not isinstance(messages, list) or not messages:
        raise BadRequestError('"messages" must be a non-empty list', "invalid_messages")
    turns = []
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadRequestError(f"{where} must be an object", "invalid_messages")
        role = message.get("role")
        if role in SYSTEM_ROLES:
            turns.append({"role": "user", "content": f"(system) {_text(message.get('content'), where)}"})
        elif role in ("user", "assistant"):
            if message.get("tool_calls"):
                raise BadRequestError(f"{where}: tool calls are not supported", "invalid_messages")
            text = _text(message.get("content"), where)
            turns.append({"role": role, "content": strip_footnote(text) if role == "assistant" else text})
        else:
            raise BadRequestError(f"{where}.role {role!r} is not supported (system, user, assistant)",
                                  "invalid_messages")
    last = messages[-1]
    if last.get("role") != "user":
        raise BadRequestError("the last message must come from the user (it is the question)",
                              "invalid_messages")
    question = turns.pop()["content"]
    if not question.strip():
        raise BadRequestError("the last user message is empty", "invalid_messages")
    return question, turns


def _positive_int(body: dict, *names: str) -> int | None:
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadRequestError(f'"{name}" must be a positive integer')
        return value
    return None


def _temperature(body: dict) -> float | None:
    value = body.get("temperature")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_TEMPERATURE:
        raise BadRequestError(f'"temperature" must be a number between 0 and {MAX_TEMPERATURE:g}')
    return float(value)


def _flag(body: dict, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequestError(f'"{name}" must be true or false')
    return value


def requested_model(body: dict[str, Any], default_model: str) -> str:
    model = body.get("model") or default_model
    if not isinstance(model, str):
        raise BadRequestError('"model" must be a string')
    return model


def _tools_offered(body: dict[str, Any]) -> int:
    """How many tools (or legacy functions) the client offers; 400 when it forces a call."""
    tools = body.get("tools") or body.get("functions") or []
    choice = body.get("tool_choice", body.get("function_call"))
    forced = choice == "required" or isinstance(choice, dict)
    if forced:
        what = "a call of the tool " + repr((choice.get("function") or {}).get("name") or choice.get("name")) \
            if isinstance(choice, dict) else "a tool call"
        raise BadRequestError(f"tool_choice asks for {what}, but this model cannot call tools; send "
                              "the request without tool_choice (or with \"auto\" / \"none\")",
                              "tools_not_supported")
    return len(tools) if isinstance(tools, list) else 1


def parse_chat_request(body: dict[str, Any], default_model: str, sources_footnote: bool = False,
                       plain: bool = False, task_max_tokens: int | None = None) -> ChatRequest:
    """`plain`: the request named a plain model id (no retrieval, whatever it asks);
    `task_max_tokens`: the most new tokens a task may ask for."""
    model = requested_model(body, default_model)
    if body.get("n") not in (None, 1):
        raise BadRequestError('only "n": 1 is supported')
    tools = _tools_offered(body)
    question, history = _turns(body.get("messages"))
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise BadRequestError('"stream_options" must be an object')
    kind = classify(body, plain)
    max_new_tokens = _positive_int(body, "max_completion_tokens", "max_tokens")
    if kind.task and task_max_tokens:
        max_new_tokens = min(max_new_tokens or task_max_tokens, task_max_tokens)
    return ChatRequest(
        model=model, question=question, history=history,
        max_new_tokens=max_new_tokens,
        temperature=_temperature(body),
        stream=_flag(body, "stream", False),
        include_usage=_flag(options, "include_usage", False),
        sources_footnote=_flag(body, "sources_footnote", sources_footnote),
        kind=kind, tools_ignored=tools)
