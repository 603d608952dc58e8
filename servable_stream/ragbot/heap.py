"""Give the C heap's free pages back to the system after a burst of work.

glibc's malloc keeps memory that was freed inside its arenas for the next allocation: the
process's resident set stays at its high-water mark although Python, numpy, tokenizers and
the OpenVINO plugins have let go of it. Two bursts leave a lot behind here: building the
index (parsing, tokenising and embedding every document) and answering (the prompt's
tokens, the engine's per-step tensors). `malloc_trim(0)` hands the free pages back
(madvise on whole free pages inside the arenas, not only the top of the heap).

Measured in-process with the 1.5B preset and mpnet (the eval's knowledge base, 747 chunks):
after a first start that built the index and eight answers, 1,809 MB resident, 1,648 MB
after one trim; with a ready-made index, 1,591 -> 1,566 MB. A trim takes 0.4-2 ms.

Called when the knowledge store has rebuilt (RagService) and when the last running answer
has finished (Admission's idle hook), so that a burst's leftovers do not stay resident.
A no-op where the C library has no malloc_trim (musl, macOS, Windows).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim():
    """libc's malloc_trim, looked up once; None where the C library has none."""
    try:
        fn = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
    fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
    return fn


def trim() -> bool:
    """Return the heap's free pages to the system; True if the C library did give some back."""
    fn = _malloc_trim()
    if fn is None:
        return False
    try:
        return bool(fn(0))
    except Exception:  # noqa: BLE001 - never let housekeeping fail a request
        log.debug("malloc_trim failed", exc_info=True)
        return False
