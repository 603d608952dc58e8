"""One chat completion: the servable's stream turned into OpenAI's answer.

The HTTP status is decided by the upstream's FIRST event: the gateway waits for it before
answering, so an error that comes before any text (bad request, overload, unknown or unready
model, an in-band end_signal error) is a proper HTTP error, not a 200 stream. An error after
text has been streamed is sent as an SSE `data: {"error": ...}` event (the OpenAI SDKs raise
it as APIError), followed by `data: [DONE]` as every stream ends. A client that disconnects
cancels the gRPC stream.

A streamed answer's passages go out as Open WebUI source events (sources.py), one chunk per
passage before the final chunk; `sources` rides on the final chunk for every other client.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.chat_request import ChatRequest
from gateway.end_signal import EndSignal
from gateway.errors import GatewayError
from gateway.openai_format import Completion
from gateway.request_log import RequestRecord
from gateway.sources import openwebui_source_events, sources_footnote
from gateway.sse import DONE, ClientGone, EventStreamResponse, sse_data, until_disconnect
from gateway.upstream import AnswerStream, Event

__all__ = ["respond", "outcome_of"]

log = logging.getLogger("gateway.chat")


def outcome_of(error: GatewayError) -> str:
    if error.status == 429:
        return "rejected"
    return "invalid" if error.status < 500 else "error"


def _account(record: RequestRecord, end: EndSignal) -> None:
    record.prompt_tokens, record.completion_tokens = end.prompt_tokens, end.completion_tokens


async def respond(request: Request, chat: ChatRequest, answer: AnswerStream,
                  record: RequestRecord) -> Response:
    """Wait for the first event (or the client leaving), then answer as asked."""
    try:
        first = await until_disconnect(request, answer.__anext__())
        if isinstance(first, EndSignal) and first.error is not None:
            raise first.error
    except ClientGone:
        answer.close()
        record.finish("cancelled", 499)
        return Response(status_code=499)
    except BaseException:
        answer.close()
        raise
    record.token()
    if chat.stream:
        return EventStreamResponse(_stream(chat, answer, first, record))
    try:
        text, end = await until_disconnect(request, _collect(answer, first, record))
    except ClientGone:
        record.finish("cancelled", 499)
        return Response(status_code=499)
    finally:
        answer.close()
    if chat.sources_footnote:
        text += sources_footnote(end.sources)
    record.finish("ok", 200)
    return JSONResponse(Completion(chat.model).completion(text, end))


async def _collect(answer: AnswerStream, first: Event, record: RequestRecord) -> tuple[str, EndSignal]:
    parts = []
    event = first
    while isinstance(event, str):
        parts.append(event)
        event = await answer.__anext__()
    _account(record, event)
    if event.error is not None:
        raise event.error
    return "".join(parts), event


async def _stream(chat: ChatRequest, answer: AnswerStream, first: Event,
                  record: RequestRecord) -> AsyncIterator[bytes]:
    completion = Completion(chat.model)
    outcome, status = "cancelled", 499  # unless it ends otherwise
    try:
        yield sse_data(completion.role_chunk())
        event = first
        while isinstance(event, str):
            yield sse_data(completion.content_chunk(event))
            event = await answer.__anext__()
        _account(record, event)
        if event.error is not None:
            raise event.error
        if chat.sources_footnote and event.sources:
            yield sse_data(completion.content_chunk(sources_footnote(event.sources)))
        for source_event in openwebui_source_events(event.sources, event.excerpts):
            yield sse_data(completion.event_chunk(source_event))
        yield sse_data(completion.final_chunk(event))
        if chat.include_usage:
            yield sse_data(completion.usage_chunk(event))
        outcome, status = "ok", 200
        yield DONE
    except GatewayError as error:  # after text was sent: the status line is already out
        outcome, status = outcome_of(error), error.status
        log.warning("request %s: upstream error after streaming began (%s): %s", record.id,
                    error.code, error.message)
        yield sse_data(error.body())
        yield DONE
    finally:
        answer.close()
        record.finish(outcome, status)
