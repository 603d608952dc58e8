"""The wire contract of model `python_model`, client side: encode a request,
decode `completion` chunks and the final `end_signal` (which reports a failed answer
in-band: OVMS forwards no exception from the servable)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from client.errors import ProtocolError

MODEL_NAME = "python_model"
INPUT_NAME = "pre_prompt"
CHUNK_OUTPUT = "completion"
END_OUTPUT = "end_signal"
ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Source:
    """One passage the answer was given: its document, where in it, and whether it was cited."""

    source: str
    title: str = ""
    score: float | None = None
    excerpt: str = ""
    page: int | None = None
    section: str = ""
    cited: bool = False
    number: int = 0  # the passage's [n] in the answer (1-based)
    rank: int = 0  # its place by retrieval rank (1-based; 0: the server did not say)

    @property
    def is_url(self) -> bool:
        return self.source.startswith(("http://", "https://"))


@dataclass(frozen=True)
class WireError:
    """An answer that failed: a gRPC status name and a message for the user."""

    code: str
    message: str


@dataclass(frozen=True)
class EndInfo:
    """What `end_signal` carries: the sources, token usage, why generation ended, the whole
    answer text and, when it failed (finish_reason "error"), the error."""

    sources: list[Source] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str = "stop"
    answer: str | None = None
    error: WireError | None = None
    invalid_citations: tuple[int, ...] = ()  # [n] in the answer that name no passage
    # [n] whose passage lacks a number or name of the text that cites it
    unsupported_citations: tuple[int, ...] = ()
    # [n] the servable appended because the answer cited nothing
    attributed_citations: tuple[int, ...] = ()

    def sources_cited_first(self) -> list[Source]:
        """The passages the answer cites, then the others (each keeps its number)."""
        return sorted(self.sources, key=lambda s: not s.cited)


def encode_request(
    question: str,
    history: Iterable[Mapping[str, str]] = (),
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    ignore_eos: bool = False,
    retrieval: bool = True,
    loop_guard: bool = True,
    renumber_citations: bool = False,
    background: bool = False,
) -> bytes:
    """The `pre_prompt` payload: UTF-8 JSON with the question and prior turns; options
    at their defaults are left out (so an older servable reads what it knows)."""
    turns = []
    for turn in history:
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES or not isinstance(content, str):
            raise ValueError(f"history turns need role in {ROLES} and str content, got {turn!r}")
        turns.append({"role": role, "content": content})
    payload: dict[str, Any] = {"question": question, "history": turns}
    if max_new_tokens is not None:
        payload["max_new_tokens"] = int(max_new_tokens)
    if temperature is not None:
        payload["temperature"] = float(temperature)
    if ignore_eos:
        payload["ignore_eos"] = True
    if not retrieval:
        payload["retrieval"] = False
    if not loop_guard:
        payload["loop_guard"] = False
    if renumber_citations:
        payload["renumber_citations"] = True
    if background:
        payload["background"] = True
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def decode_end_info(raw: bytes) -> EndInfo:
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"end_signal is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"end_signal must be a JSON object, got {type(data).__name__}")
    items = [item for item in data.get("sources") or [] if isinstance(item, dict)]
    sources = [_source(item, number) for number, item in enumerate(items, start=1)]
    invalid = _numbers(data.get("invalid_citations"))
    usage = {k: int(v) for k, v in (data.get("usage") or {}).items() if isinstance(v, (int, float))}
    answer = data.get("answer")
    return EndInfo(sources=sources, usage=usage, finish_reason=str(data.get("finish_reason") or "stop"),
                   answer=answer if isinstance(answer, str) else None, error=_error(data.get("error")),
                   invalid_citations=invalid,
                   unsupported_citations=_numbers(data.get("unsupported_citations")),
                   attributed_citations=_numbers(data.get("attributed_citations")))


def _numbers(value: Any) -> tuple[int, ...]:
    return tuple(n for n in value or () if isinstance(n, int)) if isinstance(value, list) else ()


def _error(value: Any) -> WireError | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError(f"end_signal's error must be an object, got {type(value).__name__}")
    return WireError(code=str(value.get("code") or "UNKNOWN"),
                     message=str(value.get("message") or "the server gave no reason"))


def _source(item: Mapping[str, Any], number: int) -> Source:
    score, page = item.get("score"), item.get("page")
    return Source(
        number=number,
        section=str(item.get("section") or ""),
        cited=item.get("cited") is True,
        rank=int(item["rank"]) if isinstance(item.get("rank"), int) else 0,
        source=str(item.get("source") or ""),
        title=str(item.get("title") or ""),
        score=float(score) if isinstance(score, (int, float)) else None,
        excerpt=str(item.get("excerpt") or ""),
        page=int(page) if isinstance(page, (int, float)) else None,
    )
