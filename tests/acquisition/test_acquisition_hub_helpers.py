import pytest

from ragbot.acquisition.hub import is_llm_folder, staging_dir
from ragbot.acquisition.llm_export import ensure_llm_folder
from ragbot.presets import get_preset
from probes.models import tiny_random_dir


def test_staging_dir_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "model"
    with pytest.raises(RuntimeError):
        with staging_dir(dest) as tmp:
            (tmp / "half.bin").write_bytes(b"x")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_staging_dir_replaces_an_existing_folder(tmp_path):
    dest = tmp_path / "model"
    dest.mkdir()
    (dest / "old").write_text("old")
    with staging_dir(dest) as tmp:
        (tmp / "new").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert [p.name for p in dest.iterdir()] == ["new"]


def test_ensure_llm_reuses_an_exported_folder_without_the_hub():
    folder = tiny_random_dir()
    assert is_llm_folder(folder)
    assert ensure_llm_folder(get_preset("tiny-llama-1b-chat"), folder) == folder
