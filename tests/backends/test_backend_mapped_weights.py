"""mapped_weights.py: the pages of a mapped weight file are given back after the warm-up,
and what is read afterwards is still the file's content (faulted back in)."""
from __future__ import annotations

import logging
import mmap
import os

import pytest
from ragbot import mapped_weights

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/smaps"), reason="Linux only")

PAGE = mmap.PAGESIZE


def _mapped_file(tmp_path, pages: int = 256):
    path = tmp_path / "openvino_model.bin"
    path.write_bytes(os.urandom(pages * PAGE))
    handle = open(path, "rb")
    view = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)  # as OpenVINO maps an IR
    return path, handle, view


def test_a_read_mapping_is_released_and_reads_the_same_bytes_afterwards(tmp_path):
    path, handle, view = _mapped_file(tmp_path)
    try:
        before = bytes(view[:])  # touch every page
        assert mapped_weights.resident_bytes(path) == len(before)
        assert mapped_weights.release(path) == len(before)
        assert mapped_weights.resident_bytes(path) < len(before) // 4
        assert bytes(view[:]) == before  # faulted back from the file, unchanged
    finally:
        view.close()
        handle.close()


def test_a_file_nobody_maps_releases_nothing(tmp_path):
    path = tmp_path / "openvino_model.bin"
    path.write_bytes(b"x" * PAGE)
    assert mapped_weights.resident_bytes(path) == 0
    assert mapped_weights.release(path) == 0
    assert mapped_weights.release(tmp_path / "missing.bin") == 0


def test_release_after_warm_up_logs_what_it_gave_back(tmp_path, caplog):
    path, handle, view = _mapped_file(tmp_path, pages=512)
    try:
        bytes(view[:])
        with caplog.at_level(logging.INFO, logger="ragbot.mapped_weights"):
            released = mapped_weights.release_after_warm_up(path, "LLM")
        assert released == 512 * PAGE
        assert "LLM: released" in caplog.text and "MB of mapped weight-file pages" in caplog.text
    finally:
        view.close()
        handle.close()



def test_pages_are_given_back_while_a_warm_up_still_reads_them(tmp_path):
    """releasing(): a thread gives the pages back while the block goes on reading them (as the
    plugin repacks layer after layer); every read still sees the file's bytes."""
    import time

    path, handle, view = _mapped_file(tmp_path, pages=512)
    try:
        expected = path.read_bytes()
        with mapped_weights.releasing([path], interval=0.01) as released:
            for _ in range(20):
                assert bytes(view[:]) == expected  # faulted back from the file, unchanged
                time.sleep(0.02)
        assert released[path] > len(expected)  # given back while being read, and at the end
        assert mapped_weights.resident_bytes(path) < len(expected) // 4
    finally:
        view.close()
        handle.close()
