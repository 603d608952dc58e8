#!/usr/bin/env python3
"""Make FP16 / INT8 / INT4 weight-compressed copies of <output_dir>/<model>."""
import argparse
import sys
from pathlib import Path

from ragbot.presets import PRESETS, SEED_PRESETS

from modeltools.cli import run

PRECISIONS = ("FP16", "INT8", "INT4")


def parse_args(argv=None):
    choices = list(SEED_PRESETS) + [n for n in PRESETS if n not in SEED_PRESETS]
    parser = argparse.ArgumentParser(
        description="Compress an exported LLM: <model>_FP16, <model>_INT8_compressed_weights "
        "and <model>_INT4_compressed_weights (INT4 settings from the model's preset)."
    )
    parser.add_argument("--model", required=True, choices=choices,
                        help="Select the LLM model out of supported list")
    parser.add_argument("--precision", choices=PRECISIONS, action="append",
                        help="variant to make (repeatable; default: all three)")
    parser.add_argument("--output_dir", default="servable_stream", type=Path,
                        help="folder holding <model>/, receives the variants "
                        "(default: servable_stream)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def work():
        from modeltools.compress import compress_model
        from modeltools.sizes import folder_size, human_size

        from ragbot.presets import get_preset

        source = args.output_dir / args.model
        print(f"{source}: weights {human_size(folder_size(source, 'openvino_model.bin'))}",
              flush=True)
        if get_preset(args.model).export_weights == "int4":
            print(f"note: {args.model} ships in 4 bits and its folder already holds the preset's "
                  "INT4 weights; the variants keep them (nothing grows back), they exist so the "
                  "seed's LLM_MODEL_DIR names work", flush=True)
        for precision in args.precision or PRECISIONS:
            print(f"Compressing {args.model} to {precision} ...", flush=True)
            (variant,) = compress_model(args.model, args.output_dir, [precision])
            print(f"{variant.path}: weights {human_size(variant.weights_bytes)} "
                  f"in {variant.seconds:.1f} s", flush=True)

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
