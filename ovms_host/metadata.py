"""Server and model metadata shared by the gRPC and REST front ends.

A graph's streams have no declared tensor types, so OVMS reports every input and output
with datatype INVALID and shape [] (TensorInfo::getUnspecifiedTensorInfo, converted in
src/kfs_frontend/kfs_grpc_inference_service.cpp), in name order (a std::map), version "1".
Metadata of a graph that is not available fails as OVMS's waitForLoaded does.
"""

from __future__ import annotations

from .errors import HostError
from .registry import AVAILABLE, RETIRED, Servable

SERVER_NAME = "OpenVINO Model Server"
# The OVMS release whose Python-node behaviour this host reproduces; "+ovms_host" marks the
# stand-in so nobody mistakes it for the real binary.
SERVER_VERSION = "2026.4.0+ovms_host"
UNSPECIFIED_DATATYPE, UNSPECIFIED_SHAPE = "INVALID", []


def server_metadata() -> dict:
    return {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": []}


def model_metadata(servable: Servable) -> dict:
    if servable.state == RETIRED:
        raise HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_ANYMORE")
    if servable.state != AVAILABLE or servable.spec is None:
        raise HostError("MEDIAPIPE_DEFINITION_NOT_LOADED_YET")
    spec = servable.spec

    def tensors(names: list[str]) -> list[dict]:
        return [{"name": n, "datatype": UNSPECIFIED_DATATYPE, "shape": list(UNSPECIFIED_SHAPE)}
                for n in sorted(names)]

    return {"name": servable.name, "versions": ["1"], "platform": "OpenVINO",
            "inputs": tensors(spec.input_names), "outputs": tensors(spec.output_names)}
