"""Conversions between wire tensors (KServe gRPC / JSON) and pyovms Tensors.

Inputs: `raw_input_contents` pass through as is (datatype and shape from the request);
element-wise BYTES become 4-byte little-endian length + data per element, as in OVMS.
Outputs: a pyovms Tensor is sent raw with its own datatype and shape.
"""

import struct
from dataclasses import dataclass

import grpc
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


def _invalid(msg):
    return HostError(grpc.StatusCode.INVALID_ARGUMENT, msg)


def length_prefixed(elements) -> bytes:
    """OVMS's BYTES layout: for each element, uint32 little-endian length then the bytes."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def split_length_prefixed(buf: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos + 4 <= len(buf):
        (n,) = struct.unpack_from("<I", buf, pos)
        out.append(bytes(buf[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return out


def _make_tensor(name, data, shape, datatype):
    return ensure_pyovms().Tensor(name, data, shape=tuple(shape), datatype=datatype)


def _check_name(name, allowed):
    if name not in allowed:
        raise _invalid(f"Unexpected input name {name!r}; the graph's inputs are "
                       f"{', '.join(allowed)}")


def _check_complete(names: list[str], allowed: list[str]):
    """Every graph input exactly once (unknown names are refused by _check_name)."""
    seen = set()
    for name in names:
        if name in seen:
            raise _invalid(f"Input {name!r} is given more than once")
        seen.add(name)
    missing = [n for n in allowed if n not in seen]
    if missing:
        raise _invalid(f"Missing input {', '.join(repr(m) for m in missing)}; the graph's "
                       f"inputs are {', '.join(allowed)}")


def inputs_from_grpc(request, allowed: list[str]) -> list:
    """pyovms Tensors for a ModelInferRequest."""
    if not request.inputs:
        raise _invalid("The request has no inputs; expected " + ", ".join(allowed))
    raw = request.raw_input_contents
    if raw and len(raw) != len(request.inputs):
        raise _invalid(f"raw_input_contents has {len(raw)} entries for "
                       f"{len(request.inputs)} inputs")
    for inp in request.inputs:
        _check_name(inp.name, allowed)
    _check_complete([inp.name for inp in request.inputs], allowed)
    tensors = []
    for i, inp in enumerate(request.inputs):
        if raw:
            tensors.append(_make_tensor(inp.name, raw[i], inp.shape, inp.datatype))
            continue
        field = _CONTENTS_FIELD.get(inp.datatype)
        if field is None:
            raise _invalid(f"Input {inp.name!r}: datatype {inp.datatype!r} must be sent in "
                           "raw_input_contents")
        values = getattr(inp.contents, field)
        if inp.datatype == "BYTES":
            data = length_prefixed(values)
        else:
            data = np.asarray(values, dtype=_NUMPY[inp.datatype])
        tensors.append(_make_tensor(inp.name, data, inp.shape, inp.datatype))
    return tensors


def inputs_from_json(body: dict, allowed: list[str]) -> list:
    """pyovms Tensors for a KServe REST infer body (BYTES data given as strings)."""
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not inputs or not isinstance(inputs, list):
        raise _invalid('The request body needs "inputs": [{"name", "shape", "datatype", '
                       '"data"}]')
    if not all(isinstance(inp, dict) for inp in inputs):
        raise _invalid('Each entry of "inputs" must be an object {"name", "shape", '
                       '"datatype", "data"}')
    for inp in inputs:
        _check_name(inp.get("name"), allowed)
    _check_complete([inp.get("name") for inp in inputs], allowed)
    tensors = []
    for inp in inputs:
        name, datatype = inp.get("name"), inp.get("datatype")
        data = np.asarray(inp.get("data", []), dtype=object).reshape(-1).tolist()
        shape = inp.get("shape") or [len(data)]
        if datatype == "BYTES":
            buf = length_prefixed([d.encode() if isinstance(d, str) else bytes(d)
                                   for d in data])
        elif datatype in _NUMPY:
            buf = np.asarray(data, dtype=_NUMPY[datatype])
        else:
            raise _invalid(f"Input {name!r}: unsupported datatype {datatype!r}")
        tensors.append(_make_tensor(name, buf, shape, datatype))
    return tensors


@dataclass
class OutTensor:
    """An output ready for the wire."""
    name: str
    datatype: str
    shape: tuple
    data: bytes


def to_out(t) -> OutTensor:
    return OutTensor(t.name, t.datatype, tuple(t.shape), bytes(t))


def concat(parts: list[OutTensor]) -> OutTensor:
    """Join the tensors one output yielded over a generator, in order (unary gather)."""
    if len(parts) == 1:
        return parts[0]
    last = parts[-1]
    data = b"".join(p.data for p in parts)
    same_tail = all(p.datatype == last.datatype and p.shape[1:] == last.shape[1:] and p.shape
                    for p in parts)
    if same_tail and last.datatype != "BYTES":
        shape = (sum(p.shape[0] for p in parts),) + tuple(last.shape[1:])
    elif same_tail:  # BYTES: element counts add up
        shape = (len(split_length_prefixed(data)),)
    else:
        return OutTensor(last.name, "UINT8", (len(data),), data)
    return OutTensor(last.name, last.datatype, shape, data)


def add_to_grpc_response(response, outputs: list[OutTensor]):
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
