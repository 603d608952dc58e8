"""One ModelStreamInfer stream: a graph instance fed by requests, answered as produced.

As OVMS 2026 runs a stream (src/kfs_frontend/kfs_grpc_inference_service.cpp,
ModelStreamInferImpl; src/mediapipe_internal/mediapipegraphexecutor.hpp,
inferStreamWithoutQueue):
- the first request picks the graph; an unknown, unready or retired one ends the RPC with
  that status. A later request naming another graph, a malformed timestamp or a bad input
  gets an `error_message` ("<status>; partial deserialization of ... request") and the
  stream goes on (stream_reader.py);
- each request runs the node (node_run.py) in the stream's worker thread; every output
  packet is sent as its own response with `OVMS_MP_TIMESTAMP` (and no id). Requests whose
  `execute` returns a list are taken one after another; a request arriving while a generator
  runs fails the graph (RESOURCE_EXHAUSTED "Node is already processing data"), which ends
  the running answer too (stream_worker.py);
- a failed graph writes nothing more: the RPC ends only when the client writes again or
  half-closes, with INVALID_ARGUMENT "Mediapipe execution failed. MP status - ...";
- half-close lets the running request finish, then ends the RPC.
On cancel/disconnect the worker stops pulling and closes the generator in its own thread
(closing from another thread would raise "generator already executing"). Graceful shutdown
(the host's own: OVMS has no grace period) ends running requests with an error_message.

A session is three parts over one StreamState (stream_state.py: the response queue, the
flags, the one ending, under one lock): the reader (the client's requests, in its own
thread), the worker (the node, in its own thread) and the session itself, which the gRPC
handler drains and which shutdown and the RPC's end reach.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterator

import grpc
from tritonclient.grpc import service_pb2

from .lifecycle import Lifecycle
from .registry import Registry
from .stream_reader import StreamReader
from .stream_state import End, StreamState
from .stream_worker import StreamWorker

log = logging.getLogger("ovms_host.stream")


class StreamSession:
    def __init__(self, registry: Registry, context: grpc.ServicerContext, lifecycle: Lifecycle,
                 peer: str = ""):
        self.state = StreamState(context, lifecycle, peer)
        self.lifecycle = lifecycle
        self.reader = StreamReader(self.state, registry, StreamWorker(self.state))
        lifecycle.sessions.add(self)
        context.add_callback(self._on_rpc_done)

    def responses(self, request_iterator: Iterator[Any]) -> Iterator[Any]:
        """The RPC's responses, as the reader and the worker queue them (gRPC handler thread)."""
        s = self.state
        threading.Thread(target=self.reader.read, args=(request_iterator,), daemon=True,
                         name="stream-reader").start()
        try:
            while True:
                item = s.out.get()
                if isinstance(item, End):
                    if item.error is not None:
                        s.context.set_code(item.error.code)
                        s.context.set_details(item.error.message)
                    return
                yield item
        finally:
            self.lifecycle.sessions.discard(self)
            if not s.finished:
                s.cancelled.set()

    def end_for_shutdown(self, message: str) -> bool:
        """Send `message` as the running request's error (if any) and end the stream."""
        s = self.state
        with s.lock:
            if s.finished:
                return False
            running = s.worker_running
            if running:
                log.info("Stream %s: server shutting down, grace over: ending its running "
                         "request with an error", s.peer)
                s.send(service_pb2.ModelStreamInferResponse(error_message=message))
            s.end()
        s.cancelled.set()
        return running

    def _on_rpc_done(self) -> None:
        s = self.state
        if not s.finished and not s.cancelled.is_set():
            s.cancelled.set()
            with s.lock:
                busy = s.worker_running
            if busy:
                why = "server shutting down" if self.lifecycle.shutting_down else \
                    "client cancelled or disconnected"
                log.info("Stream %s ended (%s); stopping its generation", s.peer, why)
        self.lifecycle.sessions.discard(self)
        with s.lock:
            s.end()
