"""OpenAI's chat objects: chat.completion.chunk (streamed), chat.completion, model list.

The sources travel as an extra field that OpenAI SDKs keep as extra data: `sources` on the
final chunk (the one with finish_reason) and on the non-streamed `choices[0].message`. Before
the final chunk, a streamed answer carries one chunk per passage with an empty delta and
Open WebUI's `event` (sources.py), which other clients ignore.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from gateway.end_signal import EndSignal

__all__ = ["Completion", "model_list", "FINISH_REASONS"]

# The servable's finish reasons in OpenAI's words ("cancelled" never reaches a client).
FINISH_REASONS = {"stop": "stop", "length": "length"}
OWNER = "ovms"


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

    def event_chunk(self, event: dict[str, Any]) -> dict[str, Any]:
        """A chunk that carries an Open WebUI event (an empty delta for everyone else)."""
        return self._chunk([{"index": 0, "delta": {}, "logprobs": None, "finish_reason": None}],
                           event=event)

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
