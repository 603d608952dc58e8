"""One request as wire steps: the node's input tensors in, `("completion", bytes)` chunks
and one final `("end_signal", bytes)` out.

Never raises for anything a request or the load can cause (bad input, overload, shutdown,
a failing model step): under OVMS an exception leaving `execute` fails the graph and the
client hears nothing, so failures become an `end_signal` carrying
`"error": {"code", "message"}` and `"finish_reason": "error"`. Every answer has at least one
`completion` step, and `end_signal` carries the whole text as `"answer"`, because unary
ModelInfer on OVMS returns only the first packet of each output. Closing the generator
(client cancel or disconnect) cancels the generation; that GeneratorExit propagates.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Iterable, Iterator

from . import metrics
from .errors import InvalidRequestError, RagError, wire_error
from .request import parse_input

log = logging.getLogger("ragbot.respond")

INPUT = "pre_prompt"
CHUNK = "completion"
END = "end_signal"


class _Progress:
    """What the wire has seen of one answer, kept for the error report."""

    def __init__(self):
        self.chunks: list[str] = []
        self.usage: dict = {"prompt_tokens": 0, "completion_tokens": 0}


def respond(service, inputs: Iterable[Any]) -> Iterator[tuple[str, bytes]]:
    progress = _Progress()
    try:
        end = yield from _stream(service, inputs, progress)
    except Exception as exc:  # noqa: BLE001 - reported in-band: OVMS would drop it silently
        end = _failure(exc, progress)
    if not progress.chunks:
        yield CHUNK, b""
    end["answer"] = "".join(progress.chunks)
    yield END, json.dumps(end).encode("utf-8")


def _stream(service, inputs, progress: _Progress):
    try:
        request = parse_input(*_prompt_tensor(inputs), max_bytes=service.settings.max_prompt_bytes)
    except InvalidRequestError as exc:
        metrics.record_request("invalid")
        log.info("request refused: outcome=invalid reason=%s", exc)
        raise
    answer = service.answer(request)  # OverloadedError / ServiceClosedError: counted there
    try:
        for chunk in answer:
            if chunk:
                progress.chunks.append(chunk)
                yield CHUNK, chunk.encode("utf-8")
        return dict(answer.end_info())
    except GeneratorExit:  # the host closes the generator when the client cancels
        log.info("stream closed by the client: cancelling the answer")
        answer.cancel()
        raise
    finally:
        progress.usage = dict(answer.usage)
        answer.close()


def _failure(exc: BaseException, progress: _Progress) -> dict:
    if not isinstance(exc, RagError):
        log.error("answer failed after %d chunk(s): %s: %s", len(progress.chunks),
                  type(exc).__name__, exc, exc_info=exc)
    return {"sources": [], "usage": progress.usage, "finish_reason": "error", "error": wire_error(exc)}


def _prompt_tensor(inputs):
    """(bytes, datatype, shape) of the pre_prompt input (OVMS also passes the loopback)."""
    named = [t for t in inputs if getattr(t, "name", INPUT) == INPUT]
    if not named:
        raise InvalidRequestError(f"the request has no {INPUT} input")
    t = named[0]
    return bytes(t), getattr(t, "datatype", None), getattr(t, "shape", None)
