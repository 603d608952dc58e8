"""Give back the pages of a model's weight file once OpenVINO holds its own copy of them.

OpenVINO maps the IR's .bin file (mmap, read-only) and the CPU plugin repacks every weight
into its own (anonymous) buffers at the first inference, but the mapping stays and so do the
file pages the repacking read: a served INT4 TinyLlama counted its 695 MB of weights twice
(measured: RssFile 769 MB + RssAnon 851 MB after one answer). After a warm-up inference,
`release(path)` tells the kernel this process no longer needs those pages
(madvise MADV_DONTNEED on the read-only mapping). Nothing is lost: a page the plugin still
reads (the embedding table it gathers from, a few small constants) is faulted back in from
the file on its next use (measured: 62 MB came back over eight answers). Linux only; where
madvise or /proc/self is missing it releases nothing.

`releasing(paths)` does the same while the warm-up runs: the repacking reads the file layer by
layer, and the pages it has read are given back every RELEASE_INTERVAL seconds instead of all
staying until the end, so the load no longer peaks at the weights twice (measured with
Qwen2.5-Coder-1.5B: see docs/backends.md). It needs the warm-up to run without the GIL
(openvino-genai's `generate()` releases it; its `step()` does not).
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

MADV_DONTNEED = 4  # <sys/mman.h> on Linux, every architecture
_MB = 1024 * 1024
RELEASE_INTERVAL = 0.2  # seconds between releases while a warm-up repacks


def _mappings(path: Path, maps: str = "/proc/self/smaps"):
    """(start, end, resident bytes) of each mapping of `path` in this process."""
    target = str(Path(path).resolve())
    current = None
    try:
        with open(maps, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                head = line.split(maxsplit=5)
                if len(head) >= 5 and "-" in head[0] and not head[0].endswith(":"):
                    if current:
                        yield current
                    name = head[5].strip() if len(head) == 6 else ""
                    if name == target:
                        lo, hi = (int(x, 16) for x in head[0].split("-"))
                        current = [lo, hi, 0]
                    else:
                        current = None
                elif current is not None and line.startswith("Rss:"):
                    current[2] = int(line.split()[1]) * 1024
    except OSError:
        return
    if current:
        yield current


def resident_bytes(path: Path) -> int:
    """How much of `path` this process's mappings hold in memory."""
    return sum(rss for _, _, rss in _mappings(path))


def release(path: Path) -> int:
    """Drop this process's resident pages of the read-only mapped file `path`; returns the
    bytes that were resident (0 if it is not mapped or the system has no madvise)."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return 0
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    released = 0
    for lo, hi, rss in list(_mappings(path)):
        if madvise(lo, hi - lo, MADV_DONTNEED) == 0:
            released += rss
        else:
            log.debug("madvise(%s) failed: errno %d", path, ctypes.get_errno())
    return released


def release_after_warm_up(path: Path, what: str) -> int:
    """`release(path)` and one log line an operator can read; never raises."""
    try:
        released = release(path)
    except Exception as exc:  # memory housekeeping must never fail a load
        log.warning("could not release the mapped pages of %s: %r", path, exc)
        return 0
    log_released(what, released)
    return released


@contextlib.contextmanager
def releasing(paths, interval: float = RELEASE_INTERVAL):
    """While the block runs, give back the resident pages of each mapped file in `paths` every
    `interval` seconds (a thread), and once more at the end; yields {path: bytes given back},
    complete when the block is done. Never raises for the housekeeping."""
    paths = [Path(p) for p in paths]
    released = {path: 0 for path in paths}
    done = threading.Event()

    def release_all() -> None:
        for path in paths:
            try:
                released[path] += release(path)
            except Exception as exc:  # memory housekeeping must never fail a load
                log.warning("could not release the mapped pages of %s: %r", path, exc)

    def loop() -> None:
        while not done.wait(interval):
            release_all()

    thread = threading.Thread(target=loop, name="release-weight-pages", daemon=True)
    thread.start()
    try:
        yield released
    finally:
        done.set()
        thread.join()
        release_all()


def log_released(what: str, released: int) -> None:
    if released:
        log.info("%s: released %.0f MB of mapped weight-file pages (the plugin holds its own copy)",
                 what, released / _MB)
