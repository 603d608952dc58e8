"""heap.trim gives freed C-heap memory back to the system (real glibc, real /proc)."""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pytest
from ragbot import heap

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and /proc")


def rss_anon_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon")


def test_trim_returns_freed_heap_pages():
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size, count = 64 * 1024, 1600  # 100 MB in blocks below the mmap threshold: heap memory
    blocks = [libc.malloc(size) for _ in range(count)]
    keep = libc.malloc(size)  # a live block above them: free() alone cannot shrink the heap
    for b in blocks:
        ctypes.memset(b, 1, size)
    before_free = rss_anon_mb()
    for b in blocks:
        libc.free(b)
    freed_but_resident = rss_anon_mb()
    assert before_free - freed_but_resident < 50, "glibc gave the pages back by itself"
    assert heap.trim() is True
    after = rss_anon_mb()
    libc.free(keep)
    assert freed_but_resident - after > 80, (before_free, freed_but_resident, after)
