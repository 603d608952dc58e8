"""OpenAI's chat objects: chat.completion.chunk (streamed), chat.completion, model list.

The sources travel as an extra field that OpenAI SDKs keep as extra data: `sources` on the
final chunk (the one with finish_reason) and on the non-streamed `choices[0].message`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from client.render import source_line
from client.wire import Source
from gateway.end_signal import EndSignal

__all__ = ["Completion", "sources_footnote", "model_list", "FINISH_REASONS"]

# The servable's finish reasons in OpenAI's words ("cancelled" never reaches a client).
FINISH_REASONS = {"stop": "stop", "length": "length"}
OWNER = "ovms"


def sources_footnote(sources: list[dict[str, Any]]) -> str:
    """The sources as Markdown after the answer, for clients that only render text."""
    if not sources:
        return ""
    lines = [source_line(n, Source(source=str(s.get("source", "")), title=str(s.get("title") or ""),
                                   score=s.get("score"), page=s.get("page"),
                                   section=str(s.get("section") or ""), cited=s.get("cited") is True))
             for n, s in enumerate(sources, start=1)]
    return "\n\n**Sources**\n\n" + "\n".join(lines)


class Completion:
    """The OpenAI objects of one chat completion (one id and creation time for all chunks)."""

    def __init__(self, model: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def _chunk(self, choices: list, **extra) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model, "system_fingerprint": None, "choices": choices, **extra}

    def role_chunk(self) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                             "logprobs": None, "finish_reason": None}])

    def content_chunk(self, text: str) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": {"content": text}, "logprobs": None,
                             "finish_reason": None}])

    def final_chunk(self, end: EndSignal) -> dict[str, Any]:
        return self._chunk([{"index": 0, "delta": {}, "logprobs": None,
                             "finish_reason": FINISH_REASONS.get(end.finish_reason, "stop")}],
                           sources=end.sources)

    def usage_chunk(self, end: EndSignal) -> dict[str, Any]:
        """stream_options.include_usage: a last chunk with no choices and the usage."""
        return self._chunk([], usage=end.usage())

    def completion(self, text: str, end: EndSignal) -> dict[str, Any]:
        message = {"role": "assistant", "content": text, "refusal": None, "sources": end.sources}
        return {"id": self.id, "object": "chat.completion", "created": self.created,
                "model": self.model, "system_fingerprint": None,
                "choices": [{"index": 0, "message": message, "logprobs": None,
                             "finish_reason": FINISH_REASONS.get(end.finish_reason, "stop")}],
                "usage": end.usage()}


def model_list(names: list[str], created: int) -> dict[str, Any]:
    return {"object": "list",
            "data": [{"id": name, "object": "model", "created": created, "owned_by": OWNER}
                     for name in names]}
