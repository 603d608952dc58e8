"""What an interrupted model preparation left beside a model folder, cleared before the next.

Everything we write beside a destination while preparing it carries the writing process's id:
`.{name}.tmp-{pid}-…` (the folder being exported, or a file being assembled),
`.{name}.scratch-{pid}-…` (unpacked weights) and `.{name}.old-{pid}-…` (the folder being
replaced). A preparation stopped outright (SIGKILL or SIGTERM, the OOM killer, a stopped
container) runs no clean-up, and each of those can hold hundreds of MB (mpnet's scratch: 836
MB). `sweep(dest)` removes the ones whose process is gone, before a new preparation writes
beside `dest`. One whose process still runs is left alone: another preparation may be at work.
So is one this process is using (`live(path)`: the scratch an export reads while a nested
staging sweeps); one that only bears our own id is from an earlier run (a restarted container
gives its process the same id again). An `.old-` folder whose swap was cut short while `dest`
is missing is the last good folder: it is put back as `dest`, not removed.
"""
from __future__ import annotations

import contextlib
import glob
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

log = logging.getLogger(__name__)

KINDS = ("tmp", "scratch", "old")
_MB = 1024 * 1024
_live: set[Path] = set()  # temporary paths this process is writing or reading now
_live_lock = threading.Lock()


def leftover_name(dest_name: str, kind: str) -> str:
    """The start of a temporary name beside `dest_name` (then a unique tail may follow)."""
    return f".{dest_name}.{kind}-{os.getpid()}"


@contextlib.contextmanager
def live(path) -> Iterator[Path]:
    """While the block runs, `sweep` leaves `path` (a temporary name of this process) alone."""
    path = Path(path).absolute()
    with _live_lock:
        _live.add(path)
    try:
        yield path
    finally:
        with _live_lock:
            _live.discard(path)


def _pid(tail: str) -> int | None:
    digits = tail.split("-", 1)[0]
    return int(digits) if digits.isdigit() else None


def process_running(pid: int) -> bool:
    """Whether `pid` names a live process. Our own id counts as gone (what we use now is
    `live`): a container that restarts gives its process the same id again."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return True  # cannot tell: leave it
    return True


def _size(path: Path) -> int:
    if path.is_file() or path.is_symlink():
        return path.lstat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def sweep(dest: Path) -> int:
    """Clear what dead processes left beside `dest`; returns the bytes removed. Never raises:
    a leftover that cannot be removed stays (and is logged), the preparation goes on."""
    dest = Path(dest)
    freed = 0
    for kind in KINDS:
        prefix = f".{dest.name}.{kind}-"
        for entry in sorted(dest.parent.glob(glob.escape(prefix) + "*")):
            pid = _pid(entry.name[len(prefix):])
            if pid is None or process_running(pid):
                continue
            with _live_lock:
                if entry.absolute() in _live:
                    continue
            try:
                if kind == "old" and not dest.exists():
                    entry.rename(dest)
                    log.warning("%s was missing: put back the folder an interrupted preparation was "
                                "replacing (%s)", dest, entry.name)
                    continue
                size = _size(entry)
                _remove(entry)
                freed += size
            except OSError as exc:
                log.warning("could not clear %s, left by an interrupted preparation: %s", entry, exc)
    if freed:
        log.info("removed %.0f MB that interrupted preparations left beside %s", freed / _MB, dest)
    return freed
