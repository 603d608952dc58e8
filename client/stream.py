"""Streaming client for the chatbot's wire contract, shared by the page and the terminal.

    client = StreamClient("localhost:9000")
    answer = client.ask("What is OpenVINO?", history=[...])
    for event in answer:          # str chunks, then one Done
        ...
    answer.cancel()               # from any thread: the server stops generating

tritonclient allows one active stream per `InferenceServerClient`, so connections live in
a small pool: each request leases one (its own stream), and gives it back afterwards so
the next request reuses the connection. A connection that failed is dropped and a new
one is made on the next request.
"""

from __future__ import annotations

import codecs
import queue
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Union

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from client.errors import (
    ClientError,
    ProtocolError,
    ServerError,
    ServerUnreachableError,
    StreamTimeoutError,
)
from client.wire import (
    CHUNK_OUTPUT,
    END_OUTPUT,
    INPUT_NAME,
    MODEL_NAME,
    EndInfo,
    Source,
    WireRequest,
    decode_end_info,
)

__all__ = [
    "StreamClient", "Answer", "Done", "EndInfo", "Source", "WireRequest", "ClientError",
    "ServerUnreachableError", "ServerError", "StreamTimeoutError", "ProtocolError",
]

DEFAULT_IDLE_TIMEOUT = 120.0
_GRACEFUL_CLOSE_SECONDS = 2.0
_UNAVAILABLE = "StatusCode.UNAVAILABLE"
# UNAVAILABLE the server itself sends (OVMS: a graph not loaded yet), not a transport failure
_SERVER_UNAVAILABLE = ("Mediapipe is not loaded yet", "Model with requested version is not loaded yet",
                       "Server is shutting down")


@dataclass(frozen=True)
class Done:
    """Last event of an answer; `end_info.finish_reason` is "cancelled" after `cancel()`."""

    end_info: EndInfo


Event = Union[str, Done]


class _Cancelled:
    """Queue marker put by `Answer.cancel` so a waiting consumer wakes up at once."""


class _ConnectionPool:
    """Idle `InferenceServerClient`s, reused between requests; one is leased per stream."""

    def __init__(self, url: str, max_idle: int):
        self.url = url
        self._max_idle = max_idle
        self._idle: list[grpcclient.InferenceServerClient] = []
        self._lock = threading.Lock()

    def lease(self) -> grpcclient.InferenceServerClient:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return grpcclient.InferenceServerClient(self.url)

    def release(self, connection: grpcclient.InferenceServerClient, healthy: bool) -> None:
        with self._lock:
            if healthy and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        _close_quietly(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _close_quietly(connection)


class StreamClient:
    """Sends questions to `model_name` at `url` ("host:port") and streams the answers.

    Thread-safe: each `ask` gets its own stream, so several sessions can ask at once.
    """

    def __init__(
        self,
        url: str,
        model_name: str = MODEL_NAME,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_idle_connections: int = 4,
    ):
        self.url = url
        self.model_name = model_name
        self.idle_timeout = idle_timeout
        self._pool = _ConnectionPool(url, max_idle_connections)

    def ask(
        self,
        question: str,
        history: Iterable[Mapping[str, str]] = (),
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        ignore_eos: bool = False,
        retrieval: bool = True,
    ) -> "Answer":
        """Start generating; iterate the returned `Answer` for the events.

        `ignore_eos`: exactly max_new_tokens tokens; `retrieval=False`: no documents. Every
        other option: `send(WireRequest(...))`."""
        return self.send(WireRequest(question, tuple(history), max_new_tokens=max_new_tokens,
                                     temperature=temperature, ignore_eos=ignore_eos, retrieval=retrieval))

    def send(self, payload: bytes | WireRequest) -> "Answer":
        """Send a request, or `payload` bytes as the pre_prompt as they are (the seed client's
        raw text, or JSON)."""
        if isinstance(payload, WireRequest):
            payload = payload.encode()
        pre_prompt = grpcclient.InferInput(INPUT_NAME, [1], "BYTES")
        pre_prompt.set_data_from_numpy(np.array([payload], dtype=object))
        answer = Answer(self._pool, self.idle_timeout)
        answer._start(self.model_name, [pre_prompt])
        return answer

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> "StreamClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Answer:
    """One streamed answer. Iterate once: text chunks (str), then `Done`.

    Raises `ClientError` subclasses while iterating: an answer that failed on the server
    (reported in-band, in `end_signal`) raises `ServerError` with the server's status code as
    soon as it arrives, `end_info` then holds the report. `cancel()` may be called from any
    thread; the iteration then ends with `Done` whose finish_reason is "cancelled".
    Iterate it or cancel it: an answer left alone keeps its stream and connection open.
    """

    def __init__(self, pool: _ConnectionPool, idle_timeout: float):
        self._pool = pool
        self._idle_timeout = idle_timeout
        self._events: queue.Queue = queue.Queue()
        self._connection: grpcclient.InferenceServerClient | None = None
        self._lock = threading.Lock()
        self._cancelled = False
        self._finished = False
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.end_info: EndInfo | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Cancel the gRPC stream so the server stops generating; idempotent."""
        with self._lock:
            if self._finished:
                return
            self._cancelled = True
        self._events.put((_Cancelled(), None))
        self._finish(cancel=True, healthy=True)

    def __iter__(self) -> Iterator[Event]:
        try:
            while True:
                try:
                    result, error = self._events.get(timeout=self._idle_timeout)
                except queue.Empty:
                    self._finish(cancel=True, healthy=False)
                    raise StreamTimeoutError(self._pool.url, self._idle_timeout) from None
                if isinstance(result, _Cancelled) or (error is not None and self._cancelled):
                    yield self._done(EndInfo(finish_reason="cancelled"))
                    return
                if error is not None:
                    raise self._fail(error)
                chunk = result.as_numpy(CHUNK_OUTPUT)
                if chunk is not None:
                    text = self._decoder.decode(chunk.tobytes())
                    if text:
                        self.text += text
                        yield text
                end = result.as_numpy(END_OUTPUT)
                if end is not None:
                    tail = self._decoder.decode(b"", final=True)
                    if tail:
                        self.text += tail
                        yield tail
                    end_info = decode_end_info(end.tobytes())
                    self._finish(cancel=False, healthy=True)
                    if end_info.error is not None:  # in-band: the answer failed on the server
                        self.end_info = end_info
                        raise ServerError(end_info.error.message, end_info.error.code)
                    yield self._done(end_info)
                    return
        except ProtocolError:
            self._finish(cancel=True, healthy=True)
            raise
        finally:
            # The consumer stopped early (break, GeneratorExit): don't leave the server generating.
            if not self._finished:
                self._finish(cancel=True, healthy=True)

    def _start(self, model_name: str, inputs: list) -> None:
        self._connection = self._pool.lease()
        try:
            self._connection.start_stream(callback=self._on_response)
            self._connection.async_stream_infer(model_name, inputs)
        except InferenceServerException as exc:
            # A stream that broke at once (e.g. connection refused) reports the cause
            # through the callback; that is the error worth showing.
            try:
                _, reported = self._events.get(timeout=1.0)
            except queue.Empty:
                reported = None
            raise self._fail(reported or exc) from None

    def _on_response(self, result, error) -> None:
        self._events.put((result, error))

    def _done(self, end_info: EndInfo) -> Done:
        self.end_info = end_info
        return Done(end_info)

    def _fail(self, error: InferenceServerException) -> ClientError:
        message = error.message() or str(error)
        status = str(error.status()) if error.status() is not None else None
        unreachable = status == _UNAVAILABLE and not message.startswith(_SERVER_UNAVAILABLE)
        self._finish(cancel=True, healthy=not unreachable)
        if unreachable:
            return ServerUnreachableError(self._pool.url, _first_line(error.message()))
        return ServerError(message, status.removeprefix("StatusCode.") if status else None)

    def _finish(self, cancel: bool, healthy: bool) -> None:
        """Stop this request's stream and return the connection to the pool, once."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
            connection, self._connection = self._connection, None
        if connection is None:
            return
        healthy = _stop_stream(connection, cancel) and healthy
        self._pool.release(connection, healthy)


def _stop_stream(connection: grpcclient.InferenceServerClient, cancel: bool) -> bool:
    """Close the stream; a graceful close that the server does not finish promptly is
    cancelled instead. Returns False when the connection should not be reused."""
    if cancel:
        connection.stop_stream(cancel_requests=True)
        return True
    closer = threading.Thread(target=connection.stop_stream, daemon=True)
    closer.start()
    closer.join(_GRACEFUL_CLOSE_SECONDS)
    if closer.is_alive():
        connection.stop_stream(cancel_requests=True)
        closer.join(_GRACEFUL_CLOSE_SECONDS)
        return False
    return True


def _close_quietly(connection: grpcclient.InferenceServerClient) -> None:
    try:
        connection.close()
    except Exception:  # closing a broken channel must not mask the real error
        pass


def _first_line(message: str | None) -> str:
    return (message or "").strip().splitlines()[0][:200] if (message or "").strip() else ""
