"""Wire tensors (KServe gRPC / REST JSON) <-> pyovms Tensors, with OVMS's checks.

Inputs follow src/kfs_frontend/kfs_graph_executor_impl.cpp (deserializeTensor for Python
tensors): `raw_input_contents` pass through as they are, their size checked against the
shape only for the numeric datatypes; element-wise BYTES become 4-byte little-endian
length + data per element; other element-wise contents are packed by datatype; a custom
datatype needs raw contents. Inputs are taken in request order and the first bad one stops
the rest (`Deserialized.error`), so, as in OVMS, the inputs before it are still delivered.
Outputs: a pyovms Tensor is sent raw with its own datatype and shape.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .errors import HostError
from .node import ensure_pyovms

_CONTENTS_FIELD = {
    "BOOL": "bool_contents", "INT8": "int_contents", "INT16": "int_contents",
    "INT32": "int_contents", "INT64": "int64_contents", "UINT8": "uint_contents",
    "UINT16": "uint_contents", "UINT32": "uint_contents", "UINT64": "uint64_contents",
    "FP32": "fp32_contents", "FP64": "fp64_contents", "BYTES": "bytes_contents",
}
_NUMPY = {
    "BOOL": np.bool_, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
    "INT64": np.int64, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
}
# OVMS's datatypeToBufferFormat item sizes (src/python/ovms_py_tensor.hpp)
_ITEMSIZE = {"BOOL": 1, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8, "INT8": 1,
             "INT16": 2, "INT32": 4, "INT64": 8, "FP16": 2, "FP32": 4, "FP64": 8}


def length_prefixed(elements: Iterable[bytes]) -> bytes:
    """OVMS's BYTES layout: for each element, uint32 little-endian length then the bytes."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def split_length_prefixed(buf: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 4 <= len(buf):
        (n,) = struct.unpack_from("<I", buf, pos)
        out.append(bytes(buf[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


def _make_tensor(name: str, data: Any, shape: list[int], datatype: str) -> Any:
    return ensure_pyovms().Tensor(name, data, shape=tuple(shape), datatype=datatype)


@dataclass
class Deserialized:
    """The packets a request creates, in order, and the error that stopped the rest."""
    tensors: list = field(default_factory=list)
    error: Optional[HostError] = None


def _count(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def check_coherency(request: Any) -> None:
    """validateRequestCoherencyKFS: raw contents are all-or-nothing and one per input."""
    raw = request.raw_input_contents
    if not raw:
        return
    if len(raw) != len(request.inputs):
        raise HostError("INVALID_MESSAGE_STRUCTURE", f"Size of raw_input_contents: {len(raw)} is "
                        f"different than number of inputs: {len(request.inputs)}")
    for inp in request.inputs:
        if inp.HasField("contents"):
            raise HostError("INVALID_MESSAGE_STRUCTURE", "Passing buffers both in InferInputTensor "
                            "contents and in raw_input_contents is not allowed. Detected buffer "
                            f"in InferInputTensor contents for input: {inp.name}")


def _tensor(request: Any, index: int) -> Any:
    inp = request.inputs[index]
    shape = list(inp.shape)
    if any(d < 0 for d in shape):
        raise HostError("INVALID_SHAPE", f"Negative dimension size is not acceptable: {shape}; "
                        f"input name: {inp.name}")
    if request.raw_input_contents:
        buf = request.raw_input_contents[index]
        size = _ITEMSIZE.get(inp.datatype)
        if size is not None and len(buf) != _count(shape) * size:
            raise HostError("INVALID_CONTENT_SIZE", "Invalid Python tensor buffer size. Actual: "
                            f"{len(buf)}; Expected: {_count(shape) * size}")
        return _make_tensor(inp.name, buf, shape, inp.datatype)
    contents_field = _CONTENTS_FIELD.get(inp.datatype)
    if contents_field is None:
        raise HostError("INVALID_PRECISION", "Provided datatype is invalid, custom datatypes are "
                        "allowed only when raw_input_contents is used.")
    values = getattr(inp.contents, contents_field)
    if inp.datatype == "BYTES":
        return _make_tensor(inp.name, length_prefixed(values), shape, inp.datatype)
    if len(values) != _count(shape):
        raise HostError("INVALID_VALUE_COUNT", f"Expected: {_count(shape) * _ITEMSIZE[inp.datatype]} "
                        f"values; Actual: {len(values) * _ITEMSIZE[inp.datatype]} values; input "
                        f"name: {inp.name}")
    return _make_tensor(inp.name, np.asarray(values, dtype=_NUMPY[inp.datatype]), shape, inp.datatype)


def inputs_from_grpc(request: Any, allowed: list[str]) -> Deserialized:
    """pyovms Tensors for a ModelInferRequest's inputs, as OVMS pushes them into the graph."""
    out = Deserialized()
    seen: set[str] = set()
    try:
        check_coherency(request)
        for i, inp in enumerate(request.inputs):
            if inp.name not in allowed:
                raise HostError("INVALID_UNEXPECTED_INPUT", f"{inp.name} is unexpected")
            if inp.name in seen:  # a second packet at the same timestamp
                raise HostError("MEDIAPIPE_GRAPH_ADD_PACKET_INPUT_STREAM",
                                f"failed to add packet to stream: {inp.name}")
            out.tensors.append(_tensor(request, i))
            seen.add(inp.name)
    except HostError as e:
        out.error = e
    return out


def request_from_json(body: Any, model_name: str) -> Any:
    """A KServe REST infer body as a ModelInferRequest (BYTES data given as strings)."""
    from tritonclient.grpc import service_pb2

    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(body, dict):
        raise HostError("REST_BODY_IS_NOT_AN_OBJECT")
    if not inputs or not isinstance(inputs, list):
        raise HostError("REST_NO_INPUTS_FOUND")
    request = service_pb2.ModelInferRequest(model_name=model_name, id=str(body.get("id") or ""))
    for inp in inputs:
        if not isinstance(inp, dict) or not isinstance(inp.get("name"), str):
            raise HostError("REST_COULD_NOT_PARSE_INPUT")
        datatype = inp.get("datatype")
        data = np.asarray(inp.get("data", []), dtype=object).reshape(-1).tolist()
        shape = inp.get("shape") or [len(data)]
        t = request.inputs.add(name=inp["name"], datatype=str(datatype), shape=shape)
        field_name = _CONTENTS_FIELD.get(datatype)
        if field_name is None:
            raise HostError("REST_COULD_NOT_PARSE_INPUT", f"unsupported datatype {datatype!r}")
        try:
            if datatype == "BYTES":
                t.contents.bytes_contents.extend(d.encode() if isinstance(d, str) else bytes(d)
                                                 for d in data)
            else:
                getattr(t.contents, field_name).extend(data)
        except (TypeError, ValueError) as e:
            raise HostError("REST_COULD_NOT_PARSE_INPUT", str(e)) from e
    return request


@dataclass
class OutTensor:
    """An output ready for the wire."""
    name: str
    datatype: str
    shape: tuple
    data: bytes


def to_out(t: Any) -> OutTensor:
    return OutTensor(t.name, t.datatype, tuple(t.shape), bytes(t))


def add_to_grpc_response(response: Any, outputs: list[OutTensor]) -> None:
    for o in outputs:
        t = response.outputs.add(name=o.name, datatype=o.datatype)
        t.shape.extend(o.shape)
        response.raw_output_contents.append(o.data)


def out_to_json(o: OutTensor) -> dict:
    if o.datatype == "BYTES":
        data = [e.decode("utf-8", "replace") for e in split_length_prefixed(o.data)]
    elif o.datatype in _NUMPY:
        data = np.frombuffer(o.data, dtype=_NUMPY[o.datatype]).tolist()
    else:
        data = list(o.data)
    return {"name": o.name, "datatype": o.datatype, "shape": list(o.shape), "data": data}
