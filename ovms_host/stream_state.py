"""What one stream's reader, worker and session share, under one lock: the response queue the
gRPC handler drains, the flags that say how far the stream got, the graph it is bound to, and
its one ending (the RPC ends exactly once; the node is given back once nothing runs)."""

from __future__ import annotations

import queue
import threading
from typing import Any

import grpc
from tritonclient.grpc import service_pb2

from .errors import GraphError, HostError
from .graph import GraphSpec
from .lifecycle import Lifecycle
from .node import PythonNode
from .registry import Servable


class End:
    """Marker on the response queue: end the RPC (with `error`'s status if given)."""

    def __init__(self, error: HostError | None = None):
        self.error = error


class StreamState:
    def __init__(self, context: grpc.ServicerContext, lifecycle: Lifecycle, peer: str = ""):
        self.context = context
        self.lifecycle = lifecycle
        self.peer = peer
        self.out: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()
        self.lock = threading.Lock()
        # the fields below are read and written under the lock
        self.finished = False  # the RPC's end is queued; nothing more is sent
        self.reader_done = False  # the client half-closed (or the RPC ended)
        self.worker_running = False  # the worker thread runs requests
        self.graph_error: GraphError | None = None  # the graph failed: reported at the next write
        self.servable: Servable | None = None
        self.spec: GraphSpec | None = None
        self.node: PythonNode | None = None

    def send(self, response: Any) -> None:
        self.out.put(response)

    def send_error(self, error: HostError, context: str) -> None:
        """An `error_message` response: this request failed, the stream goes on."""
        self.send(service_pb2.ModelStreamInferResponse(error_message=error.with_context(context)))

    def end(self, error: HostError | None = None) -> bool:
        """End the RPC once; call with the lock held."""
        if self.finished:
            return False
        self.finished = True
        self.out.put(End(error))
        self.release_if_done()
        return True

    def release_if_done(self) -> None:
        """Give the node back once the RPC ended and no request runs (lock held)."""
        if self.finished and not self.worker_running and self.node is not None:
            node, self.node = self.node, None
            node.release()
