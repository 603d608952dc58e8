"""Server-Sent Events, and noticing that the HTTP client went away.

Starlette's StreamingResponse learns of a disconnect only on its next write under ASGI 2.4
servers (uvicorn), which is too late while the model server is still queueing the request.
`EventStreamResponse` always listens for `http.disconnect` and cancels the stream at once;
the body iterator is then closed, and its `finally` cancels the gRPC stream.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = ["EventStreamResponse", "sse_data", "DONE", "ClientGone", "until_disconnect"]

DONE = b"data: [DONE]\n\n"
T = TypeVar("T")


def sse_data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


class ClientGone(Exception):
    """The HTTP client disconnected before the answer was sent."""


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, content, status_code: int = 200, headers: dict | None = None):
        super().__init__(content, status_code=status_code, media_type=self.media_type,
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                  **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:
            async def stream() -> None:
                try:
                    await self.stream_response(send)
                except OSError:  # the client is gone (the server says so on write)
                    pass
                finally:
                    with anyio.CancelScope(shield=True):
                        await self.body_iterator.aclose()
                    group.cancel_scope.cancel()

            group.start_soon(stream)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def until_disconnect(request: Request, awaitable: Awaitable[T]) -> T:
    """Await `awaitable` unless the client disconnects first (then it is cancelled and
    ClientGone raised)."""
    work = asyncio.ensure_future(awaitable)
    watch = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not work.done():
            work.cancel()
    if not work.done() or work.cancelled():
        raise ClientGone()
    return work.result()
