"""Build real wheels that hold one file split in parts, as the Qwen weight wheels do
(`<package>/data/partNN.bin` in `<dist>-partN`), for tests of the split-GGUF path."""
from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest},{len(data)}"


def build_part_wheels(source: Path, prefix: str, parts: int, version: str, out: Path) -> list[Path]:
    """Split `source` into `parts` pieces and write one wheel per piece into `out`."""
    data = Path(source).read_bytes()
    size = -(-len(data) // parts)
    out.mkdir(parents=True, exist_ok=True)
    wheels = []
    for n in range(1, parts + 1):
        dist = f"{prefix}{n}"
        package = dist.replace("-", "_")
        files = {
            f"{package}/__init__.py": b"",
            f"{package}/data/part{n:02d}.bin": data[(n - 1) * size:n * size],
            f"{package}-{version}.dist-info/METADATA":
                f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n".encode(),
            f"{package}-{version}.dist-info/WHEEL":
                b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            f"{package}-{version}.dist-info/top_level.txt": f"{package}\n".encode(),
        }
        record = "".join(f"{name},{_record_hash(body)}\n" for name, body in files.items())
        record += f"{package}-{version}.dist-info/RECORD,,\n"
        wheel = out / f"{package}-{version}-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            for name, body in files.items():
                zf.writestr(name, body)
            zf.writestr(f"{package}-{version}.dist-info/RECORD", record)
        wheels.append(wheel)
    return wheels
