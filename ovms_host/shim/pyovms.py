"""Stand-in for OVMS's `pyovms` module (only used when the real one is not importable).

`Tensor(name, data, shape=None, datatype=None)`: `data` is any buffer-protocol object.
Python 3.11 has no `__buffer__` for Python classes, so `bytes(t)` and `np.array(t)` go
through `__bytes__` and `__array__`.
"""

_FORMAT_TO_DATATYPE = {
    "?": "BOOL", "B": "UINT8", "H": "UINT16", "I": "UINT32", "Q": "UINT64",
    "b": "INT8", "h": "INT16", "i": "INT32", "q": "INT64",
    "e": "FP16", "f": "FP32", "d": "FP64", "c": "UINT8", "s": "UINT8",
}
_INT_BY_SIZE = {1: "INT8", 2: "INT16", 4: "INT32", 8: "INT64"}
_UINT_BY_SIZE = {1: "UINT8", 2: "UINT16", 4: "UINT32", 8: "UINT64"}

_DATATYPE_TO_NUMPY = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32",
    "UINT64": "uint64", "INT8": "int8", "INT16": "int16", "INT32": "int32",
    "INT64": "int64", "FP16": "float16", "FP32": "float32", "FP64": "float64",
}


def datatype_of(view: memoryview) -> str:
    """KServe datatype of a buffer from its struct format (native l/L sized by itemsize)."""
    fmt = view.format.lstrip("@=<>!")
    if fmt in _FORMAT_TO_DATATYPE:
        return _FORMAT_TO_DATATYPE[fmt]
    if fmt in ("l", "n"):
        return _INT_BY_SIZE[view.itemsize]
    if fmt in ("L", "N"):
        return _UINT_BY_SIZE[view.itemsize]
    raise TypeError(f"unsupported buffer format {view.format!r}; pass datatype= explicitly")


class Tensor:
    """A named buffer with KServe datatype and shape, as OVMS hands to/expects from execute."""

    def __init__(self, name, data, shape=None, datatype=None):
        if not isinstance(name, str):
            raise TypeError("Tensor name must be a str")
        try:
            view = data if isinstance(data, memoryview) else memoryview(data)
        except TypeError as e:
            raise TypeError(f"Tensor {name!r}: data must support the buffer protocol "
                            f"(bytes, numpy array...), got {type(data).__name__}") from e
        self.name = name
        self.data = view
        self.datatype = datatype if datatype is not None else datatype_of(view)
        self.shape = tuple(int(d) for d in shape) if shape is not None else tuple(view.shape)
        self.size = view.nbytes

    def __bytes__(self):
        return self.data.tobytes()

    def __buffer__(self, flags):  # Python >= 3.12
        return self.data

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        np_type = _DATATYPE_TO_NUMPY.get(self.datatype, "uint8")
        arr = np.frombuffer(self.data.tobytes(), dtype=np_type)
        if self.datatype in _DATATYPE_TO_NUMPY:
            arr = arr.reshape(self.shape)
        return arr.astype(dtype) if dtype is not None else arr

    def __repr__(self):
        return (f"Tensor(name={self.name!r}, datatype={self.datatype!r}, "
                f"shape={self.shape!r}, size={self.size})")
