#!/usr/bin/env python3
"""Which OVMS image tag our Python dependencies can run on — derived from one pin.

Inside OVMS, Python imports the `openvino` (and openvino_tokenizers, openvino_genai) bundled
in the image's /ovms/lib/python, first on PYTHONPATH, whatever pip installed: the image tag
decides the OpenVINO the servable runs on, the pin does not. The pinned set (optimum-intel,
nncf, ...) is resolved and tested against the `openvino==` pin in requirements.txt, so the
image must carry that release. OVMS releases are named after OpenVINO releases: OpenVINO
X.Y.0 ships in OVMS `X.Y` (e.g. 2024.1, 2025.0), a patch release X.Y.Z in OVMS `X.Y.Z`
(2025.2.1). deploy/image/check_image.py re-checks the built image itself.

    check_image_tag.py --default-tag           print the OVMS tag matching the pin
    check_image_tag.py [--base-os OS] TAG      exit 0 if TAG can host the pins; else one line, exit 1
    check_image_tag.py --image-info TAG OS     print the image facts from ovms_images.json (JSON)

SKIP_TAG_CHECK=1 in the environment turns a refusal into a warning (for a tag such as
`latest` or a custom build whose OpenVINO you know matches). Standard library only.
"""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
IMAGES = Path(__file__).resolve().parent / "ovms_images.json"
BASE_OSES = ("ubuntu", "redhat")

_PIN = re.compile(r"^\s*openvino\s*==\s*([0-9]+)\.([0-9]+)\.([0-9]+)\s*(?:[;#].*)?$", re.I)
# 2024.1, 2025.2.1, optionally with a variant suffix: 2025.2-gpu, 2025.2.1-py
_TAG = re.compile(r"^([0-9]{4})\.([0-9]+)(?:\.([0-9]+))?(?:-[A-Za-z0-9._-]+)?$")


class TagError(Exception):
    """A tag that cannot host the pinned dependencies (message is one line)."""


def openvino_pin(requirements: Path = REQUIREMENTS) -> tuple[int, int, int]:
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = _PIN.match(line)
        if match:
            return tuple(int(g) for g in match.groups())  # type: ignore[return-value]
    raise TagError(f"{requirements.name} has no exact 'openvino==X.Y.Z' pin to match an OVMS release to")


def tag_for(version: tuple[int, int, int]) -> str:
    major, minor, patch = version
    return f"{major}.{minor}" if patch == 0 else f"{major}.{minor}.{patch}"


def parse_tag(tag: str) -> tuple[int, int, int] | None:
    match = _TAG.match(tag.strip())
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def check_tag(tag: str, base_os: str = "ubuntu", requirements: Path = REQUIREMENTS) -> None:
    """Raise TagError (one-line message) unless `tag` carries the pinned OpenVINO."""
    if base_os not in BASE_OSES:
        raise TagError(f"BASE_OS={base_os!r} is not supported; use one of: {', '.join(BASE_OSES)}")
    pin = openvino_pin(requirements)
    want = tag_for(pin)
    pin_text = ".".join(map(str, pin))
    have = parse_tag(tag)
    if have is None:
        raise TagError(
            f"OVMS_CPP_IMAGE_TAG={tag!r} names no release, so its OpenVINO can't be checked against "
            f"openvino=={pin_text}; use OVMS_CPP_IMAGE_TAG={want} (or SKIP_TAG_CHECK=1 if you know it matches)"
        )
    if have == pin:
        return
    age = "older than" if have < pin else "newer than"
    raise TagError(
        f"OVMS {tag} carries OpenVINO {tag_for(have)}, {age} the openvino=={pin_text} pin in "
        f"requirements.txt; inside OVMS Python imports the openvino bundled with the image: "
        f"use OVMS_CPP_IMAGE_TAG={want} (the default) or change the pin"
    )


def image_info(tag: str, base_os: str, images: Path = IMAGES) -> dict:
    """The ovms_images.json entry for the release line of `tag` and `base_os`."""
    version = parse_tag(tag)
    if version is None:
        raise TagError(f"OVMS_CPP_IMAGE_TAG={tag!r} names no release")
    table = json.loads(images.read_text(encoding="utf-8"))
    found = None
    for line in table["lines"]:
        since = tuple(int(p) for p in line["since"].split("."))
        if version[:2] >= since:
            found = line
    if found is None or base_os not in found:
        raise TagError(f"no entry in {images.name} for OVMS {tag} on {base_os}")
    return {"tag": tag, "base_os": base_os, "line_since": found["since"], **found[base_os]}


def pip_platforms(glibc: str) -> list[str]:
    """manylinux platform tags a system with this glibc accepts (for pip --platform)."""
    major, minor = (int(p) for p in glibc.split("."))
    tags = [f"manylinux_{major}_{m}_x86_64" for m in range(minor, 4, -1)]
    return tags + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["--default-tag"]:
            print(tag_for(openvino_pin()))
            return 0
        if argv[:1] == ["--image-info"] and len(argv) == 3:
            print(json.dumps(image_info(argv[1], argv[2])))
            return 0
        base_os = "ubuntu"
        if argv[:1] == ["--base-os"] and len(argv) >= 2:
            base_os, argv = argv[1], argv[2:]
        if len(argv) != 1:
            print(__doc__.strip().splitlines()[0], file=sys.stderr)
            print("usage: check_image_tag.py --default-tag | [--base-os OS] TAG | --image-info TAG OS", file=sys.stderr)
            return 2
        check_tag(argv[0], base_os)
        return 0
    except TagError as exc:
        if os.environ.get("SKIP_TAG_CHECK") == "1" and not str(exc).startswith("BASE_OS="):
            print(f"warning (SKIP_TAG_CHECK=1): {exc}", file=sys.stderr)
            return 0
        print(f"python_image: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
