"""The request side of one stream: reads the client's requests in its own thread and applies
OVMS's rules to each (stream_session.py tells which); accepted inputs go to the worker."""

from __future__ import annotations

import logging
from typing import Any, Iterator

from .errors import HostError
from .registry import Registry
from .stream_state import StreamState
from .stream_worker import StreamWorker
from .tensors import inputs_from_grpc
from .timestamps import PARAMETER, request_timestamp

log = logging.getLogger("ovms_host.stream")

FIRST, SUBSEQUENT = "partial deserialization of first request", \
    "partial deserialization of subsequent requests"


class StreamReader:
    def __init__(self, state: StreamState, registry: Registry, worker: StreamWorker):
        self.state = state
        self.registry = registry
        self.worker = worker
        self._last_input_ts: int | None = None

    def read(self, request_iterator: Iterator[Any]) -> None:
        s = self.state
        first = True
        try:
            for request in request_iterator:
                if s.cancelled.is_set():
                    break
                if first and not self._open(request):
                    return
                try:
                    self._accept(request, FIRST if first else SUBSEQUENT)
                except Exception as e:  # a bug of the host: end the RPC as OVMS's catch-all does
                    log.exception("Stream %s: taking a request failed", s.peer)
                    with s.lock:
                        s.end(HostError("UNKNOWN_ERROR", f"{type(e).__name__}: {e}"))
                    return
                first = False
        except Exception as e:  # the iterator raises when the RPC is cancelled
            log.debug("Stream %s request iterator ended: %s", s.peer, e)
        with s.lock:
            s.reader_done = True
            if first:  # closed before any request: MEDIAPIPE_UNINITIALIZED_STREAM_CLOSURE
                s.end(HostError("UNKNOWN_ERROR"))
            elif s.graph_error is not None:
                s.end(s.graph_error)
            elif not s.worker_running:
                s.end()

    def _open(self, request: Any) -> bool:
        """Bind the stream to the first request's graph; else end the RPC with the status."""
        s = self.state
        try:
            if s.lifecycle.shutting_down:
                raise HostError("HOST_SHUTTING_DOWN", "not accepting new requests")
            s.servable = self.registry.for_request(request.model_name)
            s.spec, s.node = s.servable.acquire()
        except HostError as e:
            log.info("Stream %s: %s: %s", s.peer, request.model_name, e.message)
            with s.lock:
                s.end(e)
            return False
        return True

    def _accept(self, request: Any, context: str) -> None:
        s = self.state
        with s.lock:
            if s.graph_error is not None:  # the client wrote again: now the RPC ends
                s.end(s.graph_error)
                return
        if s.lifecycle.shutting_down:
            s.send_error(HostError("HOST_SHUTTING_DOWN", "not accepting new requests"), context)
            return
        if context == SUBSEQUENT and request.model_name != s.servable.name:
            s.send_error(HostError("MEDIAPIPE_INCORRECT_SERVABLE_NAME"),
                         "validate subsequent requests")
            return
        try:
            ts = request_timestamp(request)
            if self._last_input_ts is not None and ts <= self._last_input_ts:
                raise HostError("MEDIAPIPE_GRAPH_ADD_PACKET_INPUT_STREAM",
                                f"{PARAMETER} {ts} is not greater than the previous request's "
                                f"{self._last_input_ts}")
        except HostError as e:
            s.send_error(e, context)
            return
        packets = inputs_from_grpc(request, s.spec.input_names)
        if packets.tensors:
            self._last_input_ts = ts
            self.worker.push(packets.tensors, ts)
        if packets.error is not None:
            s.send_error(packets.error, context)
