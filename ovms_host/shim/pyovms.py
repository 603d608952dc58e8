"""Stand-in for OVMS's `pyovms` module (only used when the real one is not importable).

As OVMS 2026 builds it (src/python/binding/ovms_py_tensor.cpp, src/python/ovms_py_tensor.*):
`Tensor(name, buffer, shape=None, datatype=None)` takes any buffer-protocol object; without
a datatype it is looked up from the buffer's struct format (`l` is INT32 and `L` UINT32,
whatever their item size), and an unknown format becomes the datatype string itself.
`shape` defaults to the buffer's shape; `size` is the buffer's byte count; `data` is a
memoryview. Python 3.11 has no `__buffer__` for Python classes, so `bytes(t)` and
`np.array(t)` go through `__bytes__` and `__array__`.
"""

from __future__ import annotations

from typing import Any, Sequence

FORMAT_TO_DATATYPE = {
    "?": "BOOL", "B": "UINT8", "H": "UINT16", "I": "UINT32", "L": "UINT32", "Q": "UINT64",
    "b": "INT8", "h": "INT16", "i": "INT32", "l": "INT32", "q": "INT64",
    "e": "FP16", "f": "FP32", "d": "FP64",
}

_DATATYPE_TO_NUMPY = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
    "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64",
}


def datatype_of(view: memoryview) -> str:
    """KServe datatype for a buffer format, as OVMS's bufferFormatToDatatype table has it."""
    return FORMAT_TO_DATATYPE.get(view.format, view.format)


def _count(shape: Sequence[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


class Tensor:
    """A named buffer with KServe datatype and shape, as OVMS hands to/expects from execute."""

    __slots__ = ("_name", "data", "datatype", "shape", "size", "ref_obj")

    def __init__(self, name: str, buffer: Any, shape: Sequence[int] | None = None,
                 datatype: str | None = None):
        if not isinstance(name, str):
            raise TypeError("Tensor name must be a str")
        try:
            view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)
        except TypeError as e:
            raise TypeError(f"Tensor {name!r}: buffer must support the buffer protocol "
                            f"(bytes, numpy array...), got {type(buffer).__name__}") from e
        self._name = name
        self.ref_obj = buffer
        self.data = view
        self.datatype = datatype if datatype is not None else datatype_of(view)
        self.shape = tuple(int(d) for d in shape) if shape is not None else tuple(view.shape)
        self.size = view.nbytes

    @property
    def name(self) -> str:
        return self._name

    def __bytes__(self) -> bytes:
        return self.data.tobytes()

    def __buffer__(self, flags: int) -> memoryview:  # Python >= 3.12
        return self.data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> Any:
        import numpy as np
        np_type = _DATATYPE_TO_NUMPY.get(self.datatype, "uint8")
        arr = np.frombuffer(self.data.tobytes(), dtype=np_type)
        if self.datatype in _DATATYPE_TO_NUMPY and arr.size == _count(self.shape):
            arr = arr.reshape(self.shape)
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self) -> str:
        return (f"Tensor(name={self.name!r}, datatype={self.datatype!r}, "
                f"shape={self.shape!r}, size={self.size})")
