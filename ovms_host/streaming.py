"""One ModelStreamInfer stream: a graph instance fed by requests, answered as produced.

As OVMS 2026 runs a stream (src/kfs_frontend/kfs_grpc_inference_service.cpp,
ModelStreamInferImpl; src/mediapipe_internal/mediapipegraphexecutor.hpp,
inferStreamWithoutQueue):
- the first request picks the graph; an unknown, unready or retired one ends the RPC with
  that status. A later request naming another graph, a malformed timestamp or a bad input
  gets an `error_message` ("<status>; partial deserialization of ... request") and the
  stream goes on;
- each request runs the node (node_run.py) in the stream's worker thread; every output
  packet is sent as its own response with `OVMS_MP_TIMESTAMP` (and no id). Requests whose
  `execute` returns a list are taken one after another; a request arriving while a generator
  runs fails the graph (RESOURCE_EXHAUSTED "Node is already processing data"), which ends
  the running answer too;
- a failed graph writes nothing more: the RPC ends only when the client writes again or
  half-closes, with INVALID_ARGUMENT "Mediapipe execution failed. MP status - ...";
- half-close lets the running request finish, then ends the RPC.
On cancel/disconnect the worker stops pulling and closes the generator in its own thread
(closing from another thread would raise "generator already executing"). Graceful shutdown
(the host's own: OVMS has no grace period) ends running requests with an error_message.
"""

import logging
import queue
import threading
from collections import deque

import grpc
from tritonclient.grpc import service_pb2

from .errors import GraphError, HostError
from .node_run import NodeRun
from .registry import Registry
from .tensors import add_to_grpc_response, inputs_from_grpc
from .timestamps import PARAMETER, request_timestamp

log = logging.getLogger("ovms_host.stream")

FIRST, SUBSEQUENT = "partial deserialization of first request", \
    "partial deserialization of subsequent requests"


class ActiveWorkers:
    """Counts running stream workers so shutdown can wait for generators to close."""

    def __init__(self):
        self._cond = threading.Condition()
        self.count = 0

    def __enter__(self):
        with self._cond:
            self.count += 1

    def __exit__(self, *exc):
        with self._cond:
            self.count -= 1
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.count == 0, timeout)


class OpenSessions:
    """The open streams, so shutdown can end the ones still running with a clear error."""

    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: set = set()

    def add(self, session):
        with self._lock:
            self._sessions.add(session)

    def discard(self, session):
        with self._lock:
            self._sessions.discard(session)

    def end_all(self, message: str) -> int:
        """End every open stream; a running request gets `message` as its error. Returns
        how many requests were cut short."""
        with self._lock:
            sessions = list(self._sessions)
        return sum(s.end_for_shutdown(message) for s in sessions)


WORKERS = ActiveWorkers()
SESSIONS = OpenSessions()
SHUTTING_DOWN = threading.Event()  # set by the CLI: new requests are refused, logs say why
SHUTDOWN_MESSAGE = "Server is shutting down: the stream was ended before its answer finished"


class _End:
    """Marker on the response queue: end the RPC (with `error`'s status if given)."""

    def __init__(self, error: HostError | None = None):
        self.error = error


class StreamSession:
    def __init__(self, registry: Registry, context, peer: str = ""):
        self.registry = registry
        self.context = context
        self.peer = peer
        self.out: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._pending: deque = deque()  # (inputs, timestamp) waiting for the node
        self._worker_running = False
        self._reader_done = False
        self._finished = False
        self._graph_error: GraphError | None = None
        self._last_input_ts: int | None = None
        self.servable = None
        self.spec = self.node = None
        SESSIONS.add(self)
        context.add_callback(self._on_rpc_done)

    # -- response side (runs in the gRPC handler thread) -------------------------------
    def responses(self, request_iterator):
        threading.Thread(target=self._read, args=(request_iterator,), daemon=True,
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
            SESSIONS.discard(self)
            if not self._finished:
                self.cancelled.set()

    def _end(self, error: HostError | None = None) -> bool:
        """End the RPC once; call with the lock held."""
        if self._finished:
            return False
        self._finished = True
        self.out.put(_End(error))
        self._maybe_release()
        return True

    def _maybe_release(self):
        """Give the node back once the RPC ended and no request runs (lock held)."""
        if self._finished and not self._worker_running and self.node is not None:
            node, self.node = self.node, None
            node.release()

    def end_for_shutdown(self, message: str) -> bool:
        """Send `message` as the running request's error (if any) and end the stream."""
        with self._lock:
            if self._finished:
                return False
            running = self._worker_running
            if running:
                log.info("Stream %s: server shutting down, grace over: ending its running "
                         "request with an error", self.peer)
                self.out.put(service_pb2.ModelStreamInferResponse(error_message=message))
            self._end()
        self.cancelled.set()
        return running

    def _on_rpc_done(self):
        if not self._finished and not self.cancelled.is_set():
            self.cancelled.set()
            with self._lock:
                busy = self._worker_running
            if busy:
                why = "server shutting down" if SHUTTING_DOWN.is_set() else \
                    "client cancelled or disconnected"
                log.info("Stream %s ended (%s); stopping its generation", self.peer, why)
        SESSIONS.discard(self)
        with self._lock:
            self._end()

    # -- request side ------------------------------------------------------------------
    def _read(self, request_iterator):
        first = True
        try:
            for request in request_iterator:
                if self.cancelled.is_set():
                    break
                if first and not self._open(request):
                    return
                try:
                    self._accept(request, FIRST if first else SUBSEQUENT)
                except Exception as e:  # a bug of the host: end the RPC as OVMS's catch-all does
                    log.exception("Stream %s: taking a request failed", self.peer)
                    with self._lock:
                        self._end(HostError("UNKNOWN_ERROR", f"{type(e).__name__}: {e}"))
                    return
                first = False
        except Exception as e:  # the iterator raises when the RPC is cancelled
            log.debug("Stream %s request iterator ended: %s", self.peer, e)
        with self._lock:
            self._reader_done = True
            if first:  # closed before any request: MEDIAPIPE_UNINITIALIZED_STREAM_CLOSURE
                self._end(HostError("UNKNOWN_ERROR"))
            elif self._graph_error is not None:
                self._end(self._graph_error)
            elif not self._worker_running:
                self._end()

    def _open(self, request) -> bool:
        """Bind the stream to the first request's graph; else end the RPC with the status."""
        try:
            if SHUTTING_DOWN.is_set():
                raise HostError("HOST_SHUTTING_DOWN", "not accepting new requests")
            self.servable = self.registry.for_request(request.model_name)
            self.spec, self.node = self.servable.acquire()
        except HostError as e:
            log.info("Stream %s: %s: %s", self.peer, request.model_name, e.message)
            with self._lock:
                self._end(e)
            return False
        return True

    def _send_error(self, error: HostError, context: str):
        self.out.put(service_pb2.ModelStreamInferResponse(error_message=error.with_context(context)))

    def _accept(self, request, context: str):
        with self._lock:
            if self._graph_error is not None:  # the client wrote again: now the RPC ends
                self._end(self._graph_error)
                return
        if SHUTTING_DOWN.is_set():
            self._send_error(HostError("HOST_SHUTTING_DOWN", "not accepting new requests"), context)
            return
        if context == SUBSEQUENT and request.model_name != self.servable.name:
            self._send_error(HostError("MEDIAPIPE_INCORRECT_SERVABLE_NAME"),
                             "validate subsequent requests")
            return
        try:
            ts = request_timestamp(request)
            if self._last_input_ts is not None and ts <= self._last_input_ts:
                raise HostError("MEDIAPIPE_GRAPH_ADD_PACKET_INPUT_STREAM",
                                f"{PARAMETER} {ts} is not greater than the previous request's "
                                f"{self._last_input_ts}")
        except HostError as e:
            self._send_error(e, context)
            return
        packets = inputs_from_grpc(request, self.spec.input_names)
        if packets.tensors:
            self._last_input_ts = ts
            self._push(packets.tensors, ts)
        if packets.error is not None:
            self._send_error(packets.error, context)

    def _push(self, inputs, ts):
        with self._lock:
            if self._finished:
                return
            self._pending.append((inputs, ts))
            if self._worker_running:
                return
            self._worker_running = True
        threading.Thread(target=self._work, daemon=True, name="stream-worker").start()

    # -- worker: runs the node request by request ---------------------------------------
    def _work(self):
        with WORKERS:
            while True:
                with self._lock:
                    if not self._pending or self._finished:
                        self._pending.clear()
                        self._worker_running = False
                        if self._reader_done:
                            self._end()
                        self._maybe_release()
                        return
                    inputs, ts = self._pending.popleft()
                    node = self.node
                try:
                    self._run(NodeRun(self.spec, node, inputs, ts))
                except GraphError as e:
                    self._graph_failed(e)
                    return

    def _run(self, run: NodeRun):
        try:
            self._send(run.first())
            while run.running:
                if self.cancelled.is_set() or not self.context.is_active():
                    log.info("Stream %s: RPC over, closing the generator of %s", self.peer,
                             self.servable.name)
                    return
                with self._lock:
                    intruder = bool(self._pending)
                if intruder:
                    raise run.refuse_new_input()
                packets = run.next_step()
                if packets is None:
                    return
                self._send(packets)
        finally:
            run.close()  # same thread that ran it: runs the servable's finally

    def _graph_failed(self, error: GraphError):
        cause = error.__cause__
        why = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        log.warning("Stream %s: graph %s failed%s: %s; nothing more is written, the RPC ends at "
                    "the client's next write or half-close", self.peer, self.servable.name, why,
                    error.message, exc_info=cause if log.isEnabledFor(logging.DEBUG) else None)
        with self._lock:
            self._graph_error = error
            self._pending.clear()
            self._worker_running = False
            if self._reader_done:
                self._end(error)
            self._maybe_release()

    def _send(self, packets):
        for p in packets:
            if self._finished:
                return
            resp = service_pb2.ModelInferResponse(model_name=self.servable.name, model_version="1")
            add_to_grpc_response(resp, [p.tensor])
            resp.parameters[PARAMETER].int64_param = p.timestamp
            self.out.put(service_pb2.ModelStreamInferResponse(infer_response=resp))
