"""KServe v2 gRPC service on tritonclient's generated stubs (no protos of our own)."""

from __future__ import annotations

import logging
from concurrent import futures
from typing import Any, Iterator, NoReturn

import grpc
from tritonclient.grpc import service_pb2, service_pb2_grpc

from . import unary
from .errors import HostError, status_of
from .lifecycle import Lifecycle
from .metadata import model_metadata, server_metadata
from .registry import Registry
from .stream_session import StreamSession
from .tensors import add_to_grpc_response
from .timestamps import PARAMETER

log = logging.getLogger("ovms_host.grpc")


class KServeService(service_pb2_grpc.GRPCInferenceServiceServicer):
    def __init__(self, registry: Registry, lifecycle: Lifecycle, input_count_validation: bool = True):
        self.registry = registry
        self.lifecycle = lifecycle
        self.input_count_validation = input_count_validation

    @staticmethod
    def _abort(context: grpc.ServicerContext, exc: Exception) -> NoReturn:
        code, message = status_of(exc)
        context.abort(code, message)

    def ServerLive(self, request: Any, context: grpc.ServicerContext) -> service_pb2.ServerLiveResponse:
        return service_pb2.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: grpc.ServicerContext) -> service_pb2.ServerReadyResponse:
        return service_pb2.ServerReadyResponse(ready=self.registry.server_ready.is_set())

    def ServerMetadata(self, request: Any, context: grpc.ServicerContext
                       ) -> service_pb2.ServerMetadataResponse:
        return service_pb2.ServerMetadataResponse(**server_metadata())

    def ModelReady(self, request: Any, context: grpc.ServicerContext) -> service_pb2.ModelReadyResponse:
        """A known graph answers ready true/false (loading or failed: false), never an error."""
        try:
            servable = self.registry.find(request.name)
        except HostError as e:
            self._abort(context, e)
        return service_pb2.ModelReadyResponse(ready=servable.ready)

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext
                      ) -> service_pb2.ModelMetadataResponse:
        try:
            md = model_metadata(self.registry.find(request.name))
        except HostError as e:
            self._abort(context, e)
        resp = service_pb2.ModelMetadataResponse(name=md["name"], versions=md["versions"],
                                                 platform=md["platform"])
        for kind in ("inputs", "outputs"):
            for t in md[kind]:
                getattr(resp, kind).add(name=t["name"], datatype=t["datatype"],
                                        shape=t["shape"])
        return resp

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> service_pb2.ModelInferResponse:
        try:
            name, packets = unary.infer(self.registry, request, self.input_count_validation)
        except Exception as e:
            log.warning("ModelInfer on %s failed: %s", request.model_name, status_of(e)[1],
                        exc_info=log.isEnabledFor(logging.DEBUG))
            self._abort(context, e)
        resp = service_pb2.ModelInferResponse(model_name=name, model_version="1", id=request.id)
        add_to_grpc_response(resp, [p.tensor for p in packets])
        resp.parameters[PARAMETER].int64_param = packets[-1].timestamp
        return resp

    def ModelStreamInfer(self, request_iterator: Iterator[Any], context: grpc.ServicerContext
                         ) -> Iterator[Any]:
        session = StreamSession(self.registry, context, self.lifecycle, peer=context.peer())
        return session.responses(request_iterator)


def make_server(registry: Registry, lifecycle: Lifecycle, port: int, workers: int,
                host: str = "0.0.0.0", input_count_validation: bool = True) -> grpc.Server:
    """A gRPC server on host:port; each open stream holds one pool thread."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grpc"),
        maximum_concurrent_rpcs=None,
        options=[("grpc.max_receive_message_length", 1 << 30),
                 ("grpc.max_send_message_length", 1 << 30),
                 ("grpc.so_reuseport", 0)])
    service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
        KServeService(registry, lifecycle, input_count_validation), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC port {port} (in use?)")
    return server
