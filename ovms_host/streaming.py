"""One ModelStreamInfer stream: a graph instance fed by requests, answered as produced.

A reader thread takes requests; each accepted request runs in its own worker thread that
calls execute and pulls one `next()` at a time, putting every step on a queue the gRPC
response iterator drains at once (no buffering). While a generator runs, further requests
on the stream are refused (OVMS's RESOURCE_EXHAUSTED "Node is already processing data").
On cancel/disconnect the worker stops pulling and closes the generator in its own thread
(closing from another thread would raise "generator already executing").
"""

import logging
import queue
import threading

import grpc
from tritonclient.grpc import service_pb2

from . import execution
from .errors import NODE_BUSY, HostError, status_of
from .registry import Registry
from .tensors import add_to_grpc_response, inputs_from_grpc

log = logging.getLogger("ovms_host.stream")

TIMESTAMP = "OVMS_MP_TIMESTAMP"
_DONE = object()


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


class StreamSession:
    def __init__(self, registry: Registry, context, peer: str = ""):
        self.registry = registry
        self.context = context
        self.peer = peer
        self.out: queue.Queue = queue.Queue()
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._busy = False
        self._reader_done = False
        self._finished = False
        self._next_ts = 0
        self.servable = None
        self._request = None  # the request being executed, for a shutdown error
        SESSIONS.add(self)
        context.add_callback(self._on_rpc_done)

    # -- response side (runs in the gRPC handler thread) -------------------------------
    def responses(self, request_iterator):
        threading.Thread(target=self._read, args=(request_iterator,), daemon=True,
                         name="stream-reader").start()
        try:
            while True:
                item = self.out.get()
                if item is _DONE:
                    return
                yield item
        finally:
            SESSIONS.discard(self)
            if not self._finished:
                self.cancelled.set()

    def end_for_shutdown(self, message: str) -> bool:
        """Send `message` as the running request's error (if any) and end the stream."""
        with self._lock:
            if self._finished:
                return False
            self._finished = True
            request = self._request if self._busy else None
        self.cancelled.set()
        if request is not None:
            log.info("Stream %s: server shutting down, grace over: ending request %r with "
                     "an error", self.peer, request.id)
            self._send_error(request, HostError(grpc.StatusCode.UNAVAILABLE, message))
        self.out.put(_DONE)
        return request is not None

    def _on_rpc_done(self):
        if not self._finished and not self.cancelled.is_set():
            self.cancelled.set()
            with self._lock:
                busy = self._busy
            if busy:
                why = "server shutting down" if SHUTTING_DOWN.is_set() else \
                    "client cancelled or disconnected"
                log.info("Stream %s ended (%s); stopping its generation", self.peer, why)
        SESSIONS.discard(self)
        self.out.put(_DONE)

    def _maybe_finish(self):
        """Called with the lock held: end the RPC once requests ended and nothing runs."""
        if self._reader_done and not self._busy and not self._finished:
            self._finished = True
            self.out.put(_DONE)

    # -- request side ------------------------------------------------------------------
    def _read(self, request_iterator):
        try:
            for request in request_iterator:
                if self.cancelled.is_set():
                    break
                self._accept(request)
        except Exception as e:  # the iterator raises when the RPC is cancelled
            log.debug("Stream %s request iterator ended: %s", self.peer, e)
        with self._lock:
            self._reader_done = True
            self._maybe_finish()

    def _accept(self, request):
        try:
            if SHUTTING_DOWN.is_set():
                raise HostError(grpc.StatusCode.UNAVAILABLE,
                                "Server is shutting down: not accepting new requests")
            if self.servable is None:
                self.servable = self.registry.get(request.model_name)
            elif request.model_name and request.model_name != self.servable.name:
                raise HostError(grpc.StatusCode.INVALID_ARGUMENT,
                                f"This stream serves {self.servable.name}; open a new stream "
                                f"for {request.model_name}")
            servable = self.servable
            inputs = inputs_from_grpc(request, servable.spec.input_names)
            with self._lock:
                if self._busy:
                    raise HostError(grpc.StatusCode.RESOURCE_EXHAUSTED, NODE_BUSY)
                ts = self._request_timestamp(request)
                self._busy = True
                self._request = request
        except Exception as e:
            self._send_error(request, e)
            return
        threading.Thread(target=self._work, args=(servable, request, inputs, ts),
                         daemon=True, name="stream-worker").start()

    def _request_timestamp(self, request) -> int:
        param = request.parameters.get(TIMESTAMP)
        if param is None:
            return self._next_ts
        ts = param.int64_param
        if ts < self._next_ts:
            raise HostError(grpc.StatusCode.INVALID_ARGUMENT,
                            f"{TIMESTAMP} {ts} is not increasing; the next one must be at "
                            f"least {self._next_ts}")
        return ts

    # -- worker: runs execute and drives the generator ----------------------------------
    def _work(self, servable, request, inputs, ts):
        gen = None
        with WORKERS:
            try:
                result = execution.start(servable, inputs)
                if not execution.is_generator(result):
                    self._send(request, execution.step_outputs(servable, result), ts)
                    ts += 1
                else:
                    gen = result
                    while True:
                        if self.cancelled.is_set() or not self.context.is_active():
                            log.info("Stream %s: RPC over, closing the generator of %s "
                                     "request %r", self.peer, servable.name, request.id)
                            break
                        try:
                            step = next(gen)
                        except StopIteration:
                            break
                        self._send(request, execution.step_outputs(servable, step), ts)
                        ts += 1
            except Exception as e:
                log.warning("Stream %s: execute of %s failed: %s", self.peer, servable.name,
                            e, exc_info=log.isEnabledFor(logging.DEBUG))
                self._send_error(request, e)
            finally:
                if gen is not None:
                    try:
                        gen.close()  # same thread that ran it: runs the servable's finally
                    except Exception:
                        log.exception("Closing the generator of %s raised", servable.name)
                with self._lock:
                    self._next_ts = max(self._next_ts, ts)
                    self._busy = False
                    self._maybe_finish()

    def _response(self, request) -> service_pb2.ModelInferResponse:
        name = self.servable.name if self.servable else request.model_name
        return service_pb2.ModelInferResponse(model_name=name, model_version="1",
                                              id=request.id)

    def _send(self, request, outputs, ts):
        resp = self._response(request)
        add_to_grpc_response(resp, outputs)
        resp.parameters[TIMESTAMP].int64_param = ts
        self.out.put(service_pb2.ModelStreamInferResponse(infer_response=resp))

    def _send_error(self, request, exc):
        _, message = status_of(exc)
        self.out.put(service_pb2.ModelStreamInferResponse(
            error_message=message, infer_response=self._response(request)))
