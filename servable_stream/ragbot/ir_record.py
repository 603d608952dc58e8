"""What NNCF recorded in an OpenVINO IR (its rt_info, at the end of the .xml): how the
weights were compressed. Read from the .xml as text, without loading the weights."""
from __future__ import annotations

import re
from pathlib import Path

_BLOCK = re.compile(r"<weight_compression>(.*?)</weight_compression>", re.S)


def _value(block: str, name: str) -> str | None:
    found = re.search(rf'<{name} value="([^"]*)"', block)
    return found.group(1) if found else None


def weight_compression(model_xml: Path) -> dict[str, str] | None:
    """NNCF's record of the last weight compression applied to the IR ({"mode": "int4_sym",
    "group_size": "128", ...}); None for an IR NNCF did not compress or that cannot be read."""
    try:
        text = Path(model_xml).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    blocks = _BLOCK.findall(text)
    if not blocks:
        return None
    block = blocks[-1]  # the last compression applied is the one the weights carry
    return {name: value for name in ("mode", "group_size") if (value := _value(block, name)) is not None}


def compression_mode(model_xml: Path) -> str | None:
    """The mode NNCF compressed the IR's weights with ("int8_asym", "int4_sym"), None if none."""
    return (weight_compression(model_xml) or {}).get("mode")
