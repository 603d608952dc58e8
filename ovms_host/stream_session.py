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

Three parts share the state below under one lock: the reader (the client's requests, in
its own thread), the worker (the node, in its own thread) and the session itself, which
owns the response queue the gRPC handler drains and ends the RPC exactly once.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Iterator

import grpc
from tritonclient.grpc import service_pb2

from .errors import GraphError, HostError
from .graph import GraphSpec
from .lifecycle import Lifecycle
from .node import PythonNode
from .registry import Registry, Servable
from .stream_reader import StreamReader
from .stream_worker import StreamWorker

log = logging.getLogger("ovms_host.stream")


class _End:
    """Marker on the response queue: end the RPC (with `error`'s status if given)."""

    def __init__(self, error: HostError | None = None):
        self.error = error


class StreamSession:
    def __init__(self, registry: Registry, context: grpc.ServicerContext, lifecycle: Lifecycle,
                 peer: str = ""):
        self.registry = registry
        self.context = context
        self.lifecycle = lifecycle
        self.peer = peer
        self.out: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()
        self.lock = threading.Lock()
        self.finished = False  # the RPC's end is queued; nothing more is sent
        self.reader_done = False  # the client half-closed (or the RPC ended)
        self.graph_error: GraphError | None = None  # the graph failed: reported at the next write
        self.servable: Servable | None = None
        self.spec: GraphSpec | None = None
        self.node: PythonNode | None = None
        self.worker = StreamWorker(self)
        lifecycle.sessions.add(self)
        context.add_callback(self._on_rpc_done)

    # -- the response side (runs in the gRPC handler thread) ---------------------------
    def responses(self, request_iterator: Iterator[Any]) -> Iterator[Any]:
        threading.Thread(target=StreamReader(self).read, args=(request_iterator,), daemon=True,
                         name="stream-reader").start()
        try:
            while True:
                item = self.out.get()
                if isinstance(item, _End):
                    if item.error is not None:
                        self.context.set_code(item.error.code)
                        self.context.set_details(item.error.message)
                    return
                yield item
        finally:
            self.lifecycle.sessions.discard(self)
            if not self.finished:
                self.cancelled.set()

    def send(self, response: Any) -> None:
        self.out.put(response)

    def send_error(self, error: HostError, context: str) -> None:
        """An `error_message` response: this request failed, the stream goes on."""
        self.send(service_pb2.ModelStreamInferResponse(error_message=error.with_context(context)))

    # -- the ending ----------------------------------------------------------------------
    def end(self, error: HostError | None = None) -> bool:
        """End the RPC once; call with the lock held."""
        if self.finished:
            return False
        self.finished = True
        self.out.put(_End(error))
        self.release_if_done()
        return True

    def release_if_done(self) -> None:
        """Give the node back once the RPC ended and no request runs (lock held)."""
        if self.finished and not self.worker.running and self.node is not None:
            node, self.node = self.node, None
            node.release()

    def end_for_shutdown(self, message: str) -> bool:
        """Send `message` as the running request's error (if any) and end the stream."""
        with self.lock:
            if self.finished:
                return False
            running = self.worker.running
            if running:
                log.info("Stream %s: server shutting down, grace over: ending its running "
                         "request with an error", self.peer)
                self.send(service_pb2.ModelStreamInferResponse(error_message=message))
            self.end()
        self.cancelled.set()
        return running

    def _on_rpc_done(self) -> None:
        if not self.finished and not self.cancelled.is_set():
            self.cancelled.set()
            with self.lock:
                busy = self.worker.running
            if busy:
                why = "server shutting down" if self.lifecycle.shutting_down else \
                    "client cancelled or disconnected"
                log.info("Stream %s ended (%s); stopping its generation", self.peer, why)
        self.lifecycle.sessions.discard(self)
        with self.lock:
            self.end()
