"""Memory read bandwidth, measured in-process: N threads each reduce their own slice of a
buffer far larger than the caches (numpy releases the GIL inside the reduction). Best of N.

This is the roofline for decode: every generated token reads (almost) all the weights once.
"""
from __future__ import annotations

import threading
import time

import numpy as np

BUFFER_MB = 1024  # >> 32 MiB L3


def read_bandwidth_gbs(threads: int = 2, buffer_mb: int = BUFFER_MB, repeats: int = 7) -> float:
    buf = np.ones(buffer_mb * 2**20 // 4, dtype=np.float32)  # touched: pages are resident
    slices = np.array_split(buf, threads)
    best = float("inf")
    for _ in range(repeats):
        barrier = threading.Barrier(threads + 1)
        workers = [threading.Thread(target=lambda s=s: (barrier.wait(), s.max())) for s in slices]
        for w in workers:
            w.start()
        barrier.wait()
        t0 = time.perf_counter()
        for w in workers:
            w.join()
        best = min(best, time.perf_counter() - t0)
    return buf.nbytes / best / 1e9


if __name__ == "__main__":
    from .common import emit

    emit({f"read_gbs_{n}t": round(read_bandwidth_gbs(n), 1) for n in (1, 2)} | {"buffer_mb": BUFFER_MB})
