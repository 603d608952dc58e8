"""The wire's `pre_prompt` bytes -> a validated ChatRequest.

Accepted: raw UTF-8 (`raw_input_contents`) or one BYTES element with its 4-byte
little-endian length prefix; the text is either a plain question or a JSON object
{"question", "history": [{"role","content"}], "max_new_tokens", "temperature",
"ignore_eos", "retrieval", "loop_guard", "renumber_citations", "background"}:
  ignore_eos  true: generate exactly max_new_tokens (end-of-sequence tokens and the model's
              stop strings are ignored), as OVMS's and vLLM's LLM APIs offer; benchmarks
              and tests use it to fix answer lengths
  retrieval   false: answer from the model alone, no passages (the closed-book control of
              `make eval`, a client's own tasks: titles, tags); default true
  loop_guard  false: no loop guard (backends/token_text.py LoopGuard), for structured output
              whose repetition is legitimate (a JSON list of similar items); default true
  renumber_citations  true: the answer's [n] are renumbered in the order the answer first
              cites them and the sources are sent in that order (cited ones first, then the
              others by rank; each keeps its `rank`), so a client that numbers sources by
              position (Open WebUI) resolves every [n]; default false (rank order)
  background  true: a client's own background task (a chat title, tags): admitted once no
              interactive request awaits its first token (admission.py); default false
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from ..errors import InvalidRequestError

ROLES = ("user", "assistant")
KEYS = ("question", "history", "max_new_tokens", "temperature", "ignore_eos", "retrieval",
        "loop_guard", "renumber_citations", "background")
MAX_TEMPERATURE = 2.0


@dataclass(frozen=True)
class ChatRequest:
    """One validated request: the question, earlier turns, limits and options."""

    question: str
    history: tuple[tuple[str, str], ...] = ()  # (role, content), oldest first
    max_new_tokens: int | None = None  # None: the server's MAX_NEW_TOKENS
    temperature: float | None = None  # None or 0: greedy
    ignore_eos: bool = False
    retrieval: bool = True
    loop_guard: bool = True
    renumber_citations: bool = False
    background: bool = False

    def __post_init__(self):
        object.__setattr__(self, "history", tuple(tuple(turn) for turn in self.history))


DATATYPES = ("BYTES", "UINT8")


def parse_input(buf: bytes, datatype: str | None, shape, *, max_bytes: int) -> ChatRequest:
    """Check the tensor (datatype, one prompt, size cap), then parse it as `parse_pre_prompt`."""
    buf = bytes(buf)
    if datatype is not None and datatype not in DATATYPES:
        raise InvalidRequestError(
            f"pre_prompt has datatype {datatype}; send UTF-8 text as {' or '.join(DATATYPES)}"
        )
    dims = [int(d) for d in shape] if shape is not None else []
    if datatype == "BYTES" and any(d != 1 for d in dims):
        raise InvalidRequestError(
            f"pre_prompt has shape {dims}: send one prompt per request (shape [1]), not a batch"
        )
    if datatype == "UINT8" and len(dims) > 1:
        raise InvalidRequestError(f"pre_prompt has shape {dims}: UINT8 text must be one-dimensional")
    if len(buf) > max_bytes:
        raise InvalidRequestError(
            f"pre_prompt is {len(buf)} bytes; the limit is {max_bytes} (MAX_PROMPT_BYTES)"
        )
    if datatype == "BYTES":
        elements = _length_prefixed_elements(buf)
        if elements is not None and len(elements) > 1:
            raise InvalidRequestError(
                f"pre_prompt holds {len(elements)} prompts: send one prompt per request"
            )
    return parse_pre_prompt(buf)


def _length_prefixed_elements(buf: bytes) -> list[bytes] | None:
    """The elements if `buf` is exactly a sequence of length-prefixed elements, else None."""
    out, pos = [], 0
    while pos + 4 <= len(buf):
        n = int.from_bytes(buf[pos : pos + 4], "little")
        if pos + 4 + n > len(buf):
            return None
        out.append(buf[pos + 4 : pos + 4 + n])
        pos += 4 + n
    return out if pos == len(buf) and out else None


def parse_pre_prompt(buf: bytes) -> ChatRequest:
    text = _decode(_strip_length_prefix(bytes(buf)))
    if text.lstrip().startswith("{"):
        return _from_json(text)
    question = text.strip()
    if not question:
        raise InvalidRequestError("pre_prompt is empty: send a question")
    return ChatRequest(question=question)


def _strip_length_prefix(buf: bytes) -> bytes:
    if len(buf) >= 4 and int.from_bytes(buf[:4], "little") == len(buf) - 4:
        return buf[4:]
    return buf


def _decode(buf: bytes) -> str:
    try:
        return buf.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"pre_prompt is not valid UTF-8 (byte {exc.start})") from None


def _from_json(text: str) -> ChatRequest:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"pre_prompt looks like a JSON object but is malformed: {exc.msg} at position {exc.pos}"
        ) from None
    if not isinstance(obj, dict):
        raise InvalidRequestError("pre_prompt JSON must be an object")
    unknown = sorted(set(obj) - set(KEYS))
    if unknown:
        raise InvalidRequestError(f"unknown keys {unknown}; allowed keys: {', '.join(KEYS)}")
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise InvalidRequestError('"question" must be a non-empty string')
    return ChatRequest(
        question=question.strip(),
        history=_history(obj.get("history")),
        max_new_tokens=_max_new_tokens(obj.get("max_new_tokens")),
        temperature=_temperature(obj.get("temperature")),
        ignore_eos=_flag(obj, "ignore_eos", False),
        retrieval=_flag(obj, "retrieval", True),
        loop_guard=_flag(obj, "loop_guard", True),
        renumber_citations=_flag(obj, "renumber_citations", False),
        background=_flag(obj, "background", False),
    )


def _flag(obj: dict, key: str, default: bool) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidRequestError(f'"{key}" must be true or false')
    return value


def _history(value) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequestError('"history" must be a list of {"role", "content"} objects')
    turns = []
    for i, turn in enumerate(value):
        if not isinstance(turn, dict):
            raise InvalidRequestError(f'"history[{i}]" must be an object with "role" and "content"')
        role, content = turn.get("role"), turn.get("content")
        if role not in ROLES:
            raise InvalidRequestError(f'"history[{i}].role" must be one of {", ".join(ROLES)}; got {role!r}')
        if not isinstance(content, str):
            raise InvalidRequestError(f'"history[{i}].content" must be a string')
        turns.append((role, content))
    return turns


def _max_new_tokens(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError('"max_new_tokens" must be a positive integer')
    return value


def _temperature(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestError('"temperature" must be a number')
    if not 0 <= value <= MAX_TEMPERATURE:
        raise InvalidRequestError(f'"temperature" must be between 0 and {MAX_TEMPERATURE}')
    return float(value)
