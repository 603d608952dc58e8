"""The KServe v2 gRPC side: one ModelStreamInfer stream per chat, on tritonclient's asyncio
client (one channel, HTTP/2 streams multiplexed on it).

    upstream = Upstream("localhost:9000", idle_timeout=120)
    answer = upstream.ask("python_model", pre_prompt_bytes)
    async for event in answer:      # str text chunks, then one EndSignal
        ...
    answer.close()                  # cancels the RPC unless the answer ended: generation stops

The request side of the stream stays open until the end_signal arrives and is then closed
(a graceful half-close, after which the server ends the RPC); a chat that ends any other way
cancels the RPC, which is how the server learns that the client went away.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
from typing import AsyncIterator, Union

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.grpc.aio as grpcaio
from tritonclient.utils import InferenceServerException

from client.wire import CHUNK_OUTPUT, END_OUTPUT, INPUT_NAME
from gateway.end_signal import EndSignal, parse_end_signal
from gateway.errors import (
    GatewayError,
    UnavailableError,
    UpstreamError,
    UpstreamTimeoutError,
    from_grpc_status,
    status_name_of_stream_message,
)

__all__ = ["Upstream", "AnswerStream"]

log = logging.getLogger("gateway.upstream")

Event = Union[str, EndSignal]
_DRAIN_SECONDS = 2.0
_DRAINING: set[asyncio.Task] = set()  # strong references: the loop keeps only weak ones


def _rpc_error(exc: BaseException, url: str) -> GatewayError:
    if isinstance(exc, grpc.aio.AioRpcError):
        name, details = exc.code().name, exc.details() or ""
    elif isinstance(exc, InferenceServerException):
        name, details = str(exc.status() or ""), exc.message() or str(exc)
    else:
        return UpstreamError(f"the model server stream failed: {exc}")
    if name.endswith("UNAVAILABLE") and ("connect" in details.lower() or not details):
        return UnavailableError(f"cannot reach the model server at {url}: {details or name}")
    return from_grpc_status(name, details)


class AnswerStream:
    """One chat's stream. Iterate once: text chunks, then an EndSignal (a clean end); raises
    GatewayError. `close()` is idempotent and safe from a cancelled task."""

    def __init__(self, client: grpcaio.InferenceServerClient, url: str, model: str,
                 pre_prompt: bytes, idle_timeout: float):
        self._url, self._idle_timeout = url, idle_timeout
        self._ended = asyncio.Event()
        self._done = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tensor = grpcclient.InferInput(INPUT_NAME, [1], "BYTES")
        tensor.set_data_from_numpy(np.array([pre_prompt], dtype=np.object_))
        self._call = client.stream_infer(self._requests({"model_name": model, "inputs": [tensor]}))
        self._pending: EndSignal | None = None

    async def _requests(self, request: dict):
        yield request
        await self._ended.wait()  # then the request side closes: the server ends the RPC

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while True:
            if self._pending is not None:
                end, self._pending = self._pending, None
                return end
            if self._done:
                raise StopAsyncIteration
            try:
                async with asyncio.timeout(self._idle_timeout):
                    result, error = await self._call.__anext__()
            except StopAsyncIteration:
                self.close()
                raise UpstreamError("the model server ended the stream before the answer's "
                                    "end_signal") from None
            except TimeoutError:
                self.close()
                raise UpstreamTimeoutError(f"no response from the model server at {self._url} "
                                           f"for {self._idle_timeout:g} s") from None
            except (grpc.aio.AioRpcError, InferenceServerException) as exc:
                self.close()
                raise _rpc_error(exc, self._url) from None
            if error is not None:
                self.close()
                message = error.message() or str(error)
                raise from_grpc_status(status_name_of_stream_message(message), message)
            event = self._event(result)
            if event is not None:
                return event

    def _event(self, result) -> Event | None:
        response = result.get_response()
        raw_contents = response.raw_output_contents
        for index, output in enumerate(response.outputs):
            if output.name not in (CHUNK_OUTPUT, END_OUTPUT):
                continue
            raw = raw_contents[index] if index < len(raw_contents) else \
                result.as_numpy(output.name).tobytes()
            if output.name == CHUNK_OUTPUT:
                return self._decoder.decode(raw) or None
            self._done = True
            self._ended.set()
            drain = asyncio.ensure_future(self._drain_rpc())
            _DRAINING.add(drain)
            drain.add_done_callback(_DRAINING.discard)
            end = parse_end_signal(raw)
            tail = self._decoder.decode(b"", final=True)  # an unfinished UTF-8 sequence
            if tail:
                self._pending = end
                return tail
            return end
        return None

    async def _drain_rpc(self) -> None:
        """After the end_signal: let the server end the RPC, cancelling it if it lingers."""
        try:
            async with asyncio.timeout(_DRAIN_SECONDS):
                async for _ in self._call:
                    pass
        except BaseException:  # noqa: BLE001 - the answer is complete; only tidy up
            self._call.cancel()

    def close(self) -> None:
        """Cancel the RPC unless the answer ended cleanly (then it is being drained)."""
        if not self._done:
            self._done = True
            self._ended.set()
            self._call.cancel()


def channel_args(lb_policy: str) -> list[tuple]:
    """tritonclient's own channel defaults, plus the load-balancing policy: with `round_robin`
    and a target resolving to several servers (`dns:///<headless service>:9000`, or
    `ipv4:a:p,b:p`) each new stream goes to the next server; a stream stays on its server."""
    keepalive = grpcclient.KeepAliveOptions()
    return [("grpc.max_send_message_length", grpcclient.MAX_GRPC_MESSAGE_SIZE),
            ("grpc.max_receive_message_length", grpcclient.MAX_GRPC_MESSAGE_SIZE),
            ("grpc.keepalive_time_ms", keepalive.keepalive_time_ms),
            ("grpc.keepalive_timeout_ms", keepalive.keepalive_timeout_ms),
            ("grpc.keepalive_permit_without_calls", keepalive.keepalive_permit_without_calls),
            ("grpc.http2.max_pings_without_data", keepalive.http2_max_pings_without_data),
            ("grpc.lb_policy_name", lb_policy)]


class Upstream:
    """The model server at `url`: ask() streams, model_ready() for the model list."""

    def __init__(self, url: str, idle_timeout: float, lb_policy: str = "pick_first"):
        self.url = url
        self.idle_timeout = idle_timeout
        self._client = grpcaio.InferenceServerClient(url, channel_args=channel_args(lb_policy))

    def ask(self, model: str, pre_prompt: bytes) -> AnswerStream:
        return AnswerStream(self._client, self.url, model, pre_prompt, self.idle_timeout)

    async def model_ready(self, model: str, timeout: float = 5.0) -> bool | None:
        """True/False as ModelReady says; None if the server does not know the model."""
        try:
            return bool(await self._client.is_model_ready(model, client_timeout=timeout))
        except InferenceServerException as exc:
            status = str(exc.status() or "")
            if status.endswith("NOT_FOUND"):
                return None
            raise _rpc_error(exc, self.url) from None

    async def close(self) -> None:
        await self._client.close()
