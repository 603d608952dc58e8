"""The servable's final `end_signal`, as the gateway passes it on.

Kept as received where OpenAI has no field for it: each source's source, title, section,
page, score and (when the servable sends them) cited and rank, plus `"supported": false` on a
cited passage the servable found not to hold what the answer cites it for
(`unsupported_citations`); the passages' excerpts are
kept apart (Open WebUI's source events show them; the `sources` field stays small). Newer
servables report request errors in-band:
`"error": {"code": "<gRPC status name>", "message"}` with `"finish_reason": "error"`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayError, UpstreamError, from_grpc_status

__all__ = ["EndSignal", "parse_end_signal", "SOURCE_FIELDS"]

SOURCE_FIELDS = ("source", "title", "section", "page", "score", "cited", "rank", "supported")


@dataclass(frozen=True)
class EndSignal:
    sources: list[dict[str, Any]] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)  # one per source
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    error: GatewayError | None = None

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


def _source(item: dict) -> dict[str, Any]:
    return {k: item[k] for k in SOURCE_FIELDS if item.get(k) is not None}


def _count(usage: dict, key: str) -> int:
    value = usage.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _error(data: dict) -> GatewayError | None:
    err = data.get("error")
    if err is None and data.get("finish_reason") != "error":
        return None
    err = err if isinstance(err, dict) else {"message": str(err or "")}
    return from_grpc_status(str(err.get("code") or "INTERNAL"),
                            str(err.get("message") or "the model server reported an error"))


def parse_end_signal(raw: bytes) -> EndSignal:
    try:
        data = json.loads(raw) if raw.strip() else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise UpstreamError(f"the model server sent an end_signal that is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UpstreamError("the model server sent an end_signal that is not a JSON object")
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    items = [s for s in data.get("sources") or [] if isinstance(s, dict)]
    unsupported = data.get("unsupported_citations") if isinstance(data.get("unsupported_citations"), list) else []
    sources = [_source(s) for s in items]
    for number, source in enumerate(sources, start=1):
        if number in unsupported:
            source["supported"] = False
    return EndSignal(sources=sources,
                     excerpts=[str(s.get("excerpt") or "") for s in items],
                     prompt_tokens=_count(usage, "prompt_tokens"),
                     completion_tokens=_count(usage, "completion_tokens"),
                     finish_reason=str(data.get("finish_reason") or "stop"), error=_error(data))
