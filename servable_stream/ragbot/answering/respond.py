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

from ..errors import RagError, wire_error
from ..run import RunContext
from .end import AnswerEnd
from .service import INPUT, RagService

log = logging.getLogger("ragbot.respond")

CHUNK = "completion"
END = "end_signal"


def respond(service: RagService, inputs: Iterable[Any]) -> Iterator[tuple[str, bytes]]:
    """(output name, bytes) steps of one request: completion chunks, then end_signal."""
    run: RunContext | None = None  # holds the text sent so far (the chain records it)
    usage: dict = {"prompt_tokens": 0, "completion_tokens": 0}
    try:
        request = service.request_from_wire(*_prompt_tensor(inputs))  # counted there if invalid
        answer = service.answer(request)  # OverloadedError / ServiceClosedError: counted there
        run = answer.run
        try:
            for chunk in answer:
                if chunk:
                    yield CHUNK, chunk.encode("utf-8")
            end = answer.end
        except GeneratorExit:  # the host closes the generator when the client cancels
            log.info("stream closed by the client: cancelling the answer")
            answer.cancel()
            raise
        finally:
            usage = answer.run.stats.usage
            answer.close()
    except Exception as exc:  # noqa: BLE001 - reported in-band: OVMS would drop it silently
        if not isinstance(exc, RagError):
            log.error("answer failed after %d chunk(s): %s: %s", len(run.sent) if run else 0,
                      type(exc).__name__, exc, exc_info=exc)
        end = AnswerEnd(usage=usage, finish_reason="error", error=wire_error(exc),
                        answer=run.answer_text if run else "")
    if not end.answer:
        yield CHUNK, b""
    yield END, json.dumps(end.to_wire()).encode("utf-8")


def _prompt_tensor(inputs):
    """(bytes, datatype, shape) of the pre_prompt input (OVMS also passes the loopback);
    (None, None, None) when it is missing."""
    named = [t for t in inputs if getattr(t, "name", INPUT) == INPUT]
    if not named:
        return None, None, None
    t = named[0]
    return bytes(t), getattr(t, "datatype", None), getattr(t, "shape", None)
