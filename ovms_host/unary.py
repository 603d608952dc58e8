"""Unary inference (gRPC ModelInfer, REST infer) on a graph, as OVMS runs it
(src/mediapipe_internal/mediapipegraphexecutor.hpp, inferWithoutQueue).

The request's inputs must all be present (unless `--disable_input_count_validation`, OVMS
2026.4.0: then the node runs with the inputs sent, as PythonExecutorCalculator skips an
empty input stream, and a request with none runs nothing); the graph then runs until idle
(a generator to its end, whatever the client's deadline), and the response holds ONE packet
per graph output: the first one each produced. An output that produced nothing fails the
request ("Unknown error during mediapipe execution"), so does a failed graph.
"""

from __future__ import annotations

from typing import Any

from .errors import OUTPUTS_MISSING, HostError
from .node_run import NodeRun, Packet
from .registry import Registry
from .tensors import inputs_from_grpc
from .timestamps import request_timestamp


def infer(registry: Registry, request: Any, input_count_validation: bool = True
          ) -> tuple[str, list[Packet]]:
    """(graph name, one packet per graph output) for a ModelInferRequest."""
    servable = registry.for_request(request.model_name)
    spec, node = servable.acquire()
    try:
        ts = request_timestamp(request)
        packets = inputs_from_grpc(request, spec.input_names)
        if packets.error is not None:
            raise packets.error
        if len(packets.tensors) < len(spec.input_names) and input_count_validation:
            raise HostError("INVALID_NO_OF_INPUTS", "Not all input packets created")
        if not packets.tensors:  # no packet: the node is never triggered, no output appears
            raise HostError("MEDIAPIPE_EXECUTION_ERROR", OUTPUTS_MISSING)
        first: dict[str, Packet] = {}
        run = NodeRun(spec, node, packets.tensors, ts)
        try:
            step = run.first()
            while step is not None:
                for p in step:
                    first.setdefault(p.name, p)
                step = run.next_step()
        finally:
            run.close()
        if any(name not in first for name in spec.output_names):
            raise HostError("MEDIAPIPE_EXECUTION_ERROR", OUTPUTS_MISSING)
        return servable.name, [first[name] for name in spec.output_names]
    finally:
        node.release()
