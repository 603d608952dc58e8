"""Request timestamps as OVMS sets them (src/kfs_frontend/kfs_graph_executor_impl.cpp,
deserializeTimestampIfAvailable): the int64 request parameter OVMS_MP_TIMESTAMP if present,
else, since OVMS 2025.1 (commit c71f9459c), the wall clock in microseconds since the epoch.
"""

from __future__ import annotations

import time
from typing import Any

from .errors import HostError

PARAMETER = "OVMS_MP_TIMESTAMP"
# mediapipe::Timestamp::IsRangeValue: strictly between Min (-2^63+3) and Max (2^63-3)
_MIN, _MAX = -(2 ** 63) + 3, 2 ** 63 - 3


def wall_clock_us() -> int:
    return time.time_ns() // 1000


def request_timestamp(request: Any) -> int:
    """The timestamp of a ModelInferRequest's packets."""
    if PARAMETER not in request.parameters:
        return wall_clock_us()
    param = request.parameters[PARAMETER]
    if param.WhichOneof("parameter_choice") != "int64_param":
        raise HostError("MEDIAPIPE_INVALID_TIMESTAMP", "Invalid timestamp format in request "
                        f"parameter {PARAMETER}. Should be int64")
    value = param.int64_param
    if not _MIN < value < _MAX:
        raise HostError("MEDIAPIPE_INVALID_TIMESTAMP", f"Timestamp {value} is out of range")
    return value
