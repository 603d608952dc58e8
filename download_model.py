#!/usr/bin/env python3
"""Download (or build) an LLM preset as an OpenVINO servable folder <output_dir>/<model>."""
import argparse
import sys
from pathlib import Path

from ragbot.presets import PRESETS, SEED_PRESETS

from modeltools.cli import run


def parse_args(argv=None):
    choices = list(SEED_PRESETS) + [n for n in PRESETS if n not in SEED_PRESETS]
    parser = argparse.ArgumentParser(
        description="Download an LLM from the Hugging Face hub and export it to OpenVINO IR "
        "(stateful, FP32, with OpenVINO tokenizer/detokenizer). 'tiny-random' is built "
        "locally for tests. Honours HF_TOKEN, HF_HOME and HF_ENDPOINT."
    )
    parser.add_argument("--model", required=True, choices=choices,
                        help="Select the LLM model out of supported list")
    parser.add_argument("--output_dir", default="servable_stream", type=Path,
                        help="folder that receives <model>/ (default: servable_stream)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def work():
        from modeltools.download import download_llm

        download_llm(args.model, args.output_dir)

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
