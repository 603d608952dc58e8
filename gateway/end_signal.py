"""The servable's final `end_signal`, as the gateway passes it on: `client.wire.decode_end_info`
reads it (the one decoder of the wire shape), this module turns its EndInfo into what the
gateway sends.

Kept as received where OpenAI has no field for it: each source's source, title, section,
page, score and (when the servable sends them) cited and rank, plus `"supported": false` on a
cited passage the servable found not to hold what the answer cites it for
(`unsupported_citations`); the passages' excerpts are
kept apart (Open WebUI's source events show them; the `sources` field stays small). Newer
servables report request errors in-band:
`"error": {"code": "<gRPC status name>", "message"}` with `"finish_reason": "error"`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client.errors import ProtocolError
from client.wire import EndInfo, Source, decode_end_info
from gateway.errors import GatewayError, UpstreamError, from_grpc_status

__all__ = ["EndSignal", "parse_end_signal", "SOURCE_FIELDS"]

SOURCE_FIELDS = ("source", "title", "section", "page", "score", "cited", "rank", "supported")


@dataclass(frozen=True)
class EndSignal:
    """The end of one answer in the gateway's terms: source dicts, usage, a typed error."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    excerpts: list[str] = field(default_factory=list)  # one per source
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    error: GatewayError | None = None

    @classmethod
    def from_end_info(cls, info: EndInfo) -> "EndSignal":
        unsupported = set(info.unsupported_citations)
        return cls(sources=[_source(s, s.number in unsupported) for s in info.sources],
                   excerpts=[s.excerpt for s in info.sources],
                   prompt_tokens=info.usage.get("prompt_tokens", 0),
                   completion_tokens=info.usage.get("completion_tokens", 0),
                   finish_reason=info.finish_reason, error=_error(info))

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}


def _source(source: Source, unsupported: bool) -> dict[str, Any]:
    """SOURCE_FIELDS the servable filled in (an empty text, rank 0 or no cited flag: not sent)."""
    values = {"source": source.source, "title": source.title, "section": source.section,
              "page": source.page, "score": source.score, "cited": source.cited,
              "rank": source.rank or None, "supported": False if unsupported else None}
    return {k: values[k] for k in SOURCE_FIELDS if values[k] is not None and values[k] != ""}


def _error(info: EndInfo) -> GatewayError | None:
    if info.error is not None:
        return from_grpc_status(info.error.code, info.error.message)
    if info.finish_reason == "error":
        return from_grpc_status("INTERNAL", "the model server reported an error")
    return None


def parse_end_signal(raw: bytes) -> EndSignal:
    """UpstreamError when it breaks the wire contract (not a JSON object, say)."""
    try:
        info = decode_end_info(raw)
    except ProtocolError as exc:
        raise UpstreamError(f"the model server sent a malformed end_signal: {exc}") from None
    return EndSignal.from_end_info(info)
