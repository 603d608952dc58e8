"""The wire contract of model `python_model`, client side, both directions: a request
(`WireRequest`) encoded as the `pre_prompt` bytes, and the final `end_signal` decoded into
`EndInfo` (which also reports a failed answer in-band: OVMS forwards no exception from the
servable). tests/client/test_wire_contract.py holds both against the servable's own code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from client.errors import ProtocolError

MODEL_NAME = "python_model"
INPUT_NAME = "pre_prompt"
CHUNK_OUTPUT = "completion"
END_OUTPUT = "end_signal"
ROLES = ("user", "assistant")


@dataclass(frozen=True)
class WireRequest:
    """One `pre_prompt`: the question, earlier turns and the options the servable reads
    (its answering/request.py); `encode()` leaves options at their defaults out, so an
    older servable reads what it knows."""

    question: str
    # (role, content) pairs, oldest first; given as pairs or {"role", "content"} mappings
    history: tuple[tuple[str, str], ...] = ()
    max_new_tokens: int | None = None  # None: the server's MAX_NEW_TOKENS
    temperature: float | None = None  # None or 0: greedy
    ignore_eos: bool = False  # generate exactly max_new_tokens tokens
    retrieval: bool = True  # False: the model alone, no passages
    loop_guard: bool = True  # False: repetition is not cut (structured output)
    renumber_citations: bool = False  # True: [n] and sources in the order the answer cites them
    background: bool = False  # True: admitted once no interactive request awaits its first token

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", tuple(_turn(turn) for turn in self.history))
        if self.max_new_tokens is not None:
            object.__setattr__(self, "max_new_tokens", int(self.max_new_tokens))
        if self.temperature is not None:
            object.__setattr__(self, "temperature", float(self.temperature))
        for option in fields(self):
            if isinstance(option.default, bool):
                object.__setattr__(self, option.name, bool(getattr(self, option.name)))

    def encode(self) -> bytes:
        """The UTF-8 JSON payload: question, history, then each option not at its default."""
        payload: dict[str, Any] = {"question": self.question,
                                   "history": [{"role": r, "content": c} for r, c in self.history]}
        for option in fields(self):
            value = getattr(self, option.name)
            if option.name not in payload and value != option.default:
                payload[option.name] = value
        return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _turn(turn: Mapping[str, str] | tuple[str, str]) -> tuple[str, str]:
    """A history turn as a (role, content) pair; ValueError when it is not one."""
    if isinstance(turn, Mapping):
        role, content = turn.get("role"), turn.get("content")
    elif isinstance(turn, (tuple, list)) and len(turn) == 2:
        role, content = turn
    else:
        role = content = None
    if role not in ROLES or not isinstance(content, str):
        raise ValueError(f"history turns need role in {ROLES} and str content, got {turn!r}")
    return role, content


@dataclass(frozen=True)
class Source:
    """One passage the answer was given: its document, where in it, and whether it was cited."""

    source: str
    title: str = ""
    score: float | None = None
    excerpt: str = ""
    page: int | None = None
    section: str = ""
    cited: bool | None = None  # the answer cites it (None: the server did not say)
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
class KnowledgeBase:
    """The knowledge base that answered: its size and, when it is shared (PostgreSQL), the
    published version."""

    documents: int
    chunks: int
    version: int | None = None


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
    # figures of the model's first sentence that no passage held: the answer became the refusal
    withheld_figures: tuple[str, ...] = ()
    knowledge_base: KnowledgeBase | None = None
    note: str | None = None  # e.g. "no documents indexed"

    def sources_cited_first(self) -> list[Source]:
        """The passages the answer cites, then the others (each keeps its number)."""
        return sorted(self.sources, key=lambda s: not s.cited)


def decode_end_info(raw: bytes) -> EndInfo:
    """`end_signal` as sent (servable: answering/end.py `AnswerEnd.to_wire`); parts an older or
    newer servable leaves out or adds are tolerated, a broken shape is a ProtocolError."""
    try:
        data = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"end_signal is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError(f"end_signal must be a JSON object, got {type(data).__name__}")
    items = [item for item in data.get("sources") or [] if isinstance(item, dict)]
    usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
    answer, note = data.get("answer"), data.get("note")
    return EndInfo(
        sources=[_source(item, number) for number, item in enumerate(items, start=1)],
        usage={k: n for k, n in ((k, _int(v)) for k, v in usage.items()) if n is not None},
        finish_reason=str(data.get("finish_reason") or "stop"),
        answer=answer if isinstance(answer, str) else None,
        error=_error(data.get("error")),
        invalid_citations=_numbers(data.get("invalid_citations")),
        unsupported_citations=_numbers(data.get("unsupported_citations")),
        attributed_citations=_numbers(data.get("attributed_citations")),
        withheld_figures=_strings(data.get("withheld_figures")),
        knowledge_base=_knowledge_base(data.get("knowledge_base")),
        note=note if isinstance(note, str) else None,
    )


def _int(value: Any) -> int | None:
    """A JSON number as an int (None for anything else, booleans too)."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _numbers(value: Any) -> tuple[int, ...]:
    numbers = (_int(n) for n in value) if isinstance(value, list) else ()
    return tuple(n for n in numbers if n is not None)


def _error(value: Any) -> WireError | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProtocolError(f"end_signal's error must be an object, got {type(value).__name__}")
    return WireError(code=str(value.get("code") or "UNKNOWN"),
                     message=str(value.get("message") or "the server gave no reason"))


def _knowledge_base(value: Any) -> KnowledgeBase | None:
    if not isinstance(value, dict):
        return None
    return KnowledgeBase(documents=_int(value.get("documents")) or 0, chunks=_int(value.get("chunks")) or 0,
                         version=_int(value.get("version")))


def _source(item: Mapping[str, Any], number: int) -> Source:
    score, cited = item.get("score"), item.get("cited")
    return Source(
        number=number,
        section=str(item.get("section") or ""),
        cited=cited if isinstance(cited, bool) else None,
        rank=_int(item.get("rank")) or 0,
        source=str(item.get("source") or ""),
        title=str(item.get("title") or ""),
        score=float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) else None,
        excerpt=str(item.get("excerpt") or ""),
        page=_int(item.get("page")),
    )
