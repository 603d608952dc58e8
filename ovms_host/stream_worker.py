"""The worker of one stream: runs the node request by request in its own thread, sends each
output packet as a response, stops at cancel, and fails the graph as OVMS does (a request
arriving while a generator runs, an exception in `execute`)."""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from tritonclient.grpc import service_pb2

from .errors import GraphError
from .node_run import NodeRun, Packet
from .stream_state import StreamState
from .tensors import add_to_grpc_response
from .timestamps import PARAMETER

log = logging.getLogger("ovms_host.stream")


class StreamWorker:
    def __init__(self, state: StreamState):
        self.state = state
        self.pending: deque[tuple[Any, int]] = deque()  # (inputs, timestamp), under the state's lock

    def push(self, inputs: Any, ts: int) -> None:
        """Queue a request; start the worker thread unless it runs already."""
        s = self.state
        with s.lock:
            if s.finished:
                return
            self.pending.append((inputs, ts))
            if s.worker_running:
                return
            s.worker_running = True
        threading.Thread(target=self._work, daemon=True, name="stream-worker").start()

    def _work(self) -> None:
        s = self.state
        with s.lifecycle.workers:
            while True:
                with s.lock:
                    if not self.pending or s.finished:
                        self.pending.clear()
                        s.worker_running = False
                        if s.reader_done:
                            s.end()
                        s.release_if_done()
                        return
                    inputs, ts = self.pending.popleft()
                    node = s.node
                try:
                    self._run(NodeRun(s.spec, node, inputs, ts))
                except GraphError as e:
                    self._graph_failed(e)
                    return

    def _run(self, run: NodeRun) -> None:
        s = self.state
        try:
            self._send(run.first())
            while run.running:
                if s.cancelled.is_set() or not s.context.is_active():
                    log.info("Stream %s: RPC over, closing the generator of %s", s.peer,
                             s.servable.name)
                    return
                with s.lock:
                    intruder = bool(self.pending)
                if intruder:
                    raise run.refuse_new_input()
                packets = run.next_step()
                if packets is None:
                    return
                self._send(packets)
        finally:
            run.close()  # same thread that ran it: runs the servable's finally

    def _graph_failed(self, error: GraphError) -> None:
        s = self.state
        cause = error.__cause__
        why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        log.warning("Stream %s: graph %s failed%s: %s; nothing more is written, the RPC ends at "
                    "the client's next write or half-close", s.peer, s.servable.name, why,
                    error.message, exc_info=cause if log.isEnabledFor(logging.DEBUG) else None)
        with s.lock:
            s.graph_error = error
            self.pending.clear()
            s.worker_running = False
            if s.reader_done:
                s.end(error)
            s.release_if_done()

    def _send(self, packets: list[Packet]) -> None:
        s = self.state
        for p in packets:
            if s.finished:
                return
            resp = service_pb2.ModelInferResponse(model_name=s.servable.name, model_version="1")
            add_to_grpc_response(resp, [p.tensor])
            resp.parameters[PARAMETER].int64_param = p.timestamp
            s.send(service_pb2.ModelStreamInferResponse(infer_response=resp))
