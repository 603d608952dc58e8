"""Server and model metadata shared by the gRPC and REST front ends."""

from .registry import Servable

SERVER_NAME = "OpenVINO Model Server"
# The OVMS release whose Python-node behaviour this host reproduces; "+ovms_host" marks the
# stand-in so nobody mistakes it for the real binary.
SERVER_VERSION = "2024.3.0+ovms_host"

# OVMS does not know the tensor types of a graph's streams; we report the wire contract a
# Python servable is normally used with: inputs as BYTES, outputs as UINT8 chunks, any length.
INPUT_DATATYPE, OUTPUT_DATATYPE, DYNAMIC_SHAPE = "BYTES", "UINT8", [-1]


def server_metadata() -> dict:
    return {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": []}


def model_metadata(servable: Servable) -> dict:
    spec = servable.spec
    tensor = lambda name, dt: {"name": name, "datatype": dt, "shape": list(DYNAMIC_SHAPE)}  # noqa: E731
    return {
        "name": servable.name,
        "versions": ["1"],
        "platform": "OpenVINO",
        "inputs": [tensor(n, INPUT_DATATYPE) for n in (spec.input_names if spec else [])],
        "outputs": [tensor(n, OUTPUT_DATATYPE) for n in (spec.output_names if spec else [])],
    }
