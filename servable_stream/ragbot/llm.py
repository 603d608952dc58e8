"""The LLM interface the chain uses, backend-neutral, and `load_llm` that picks a backend.

A backend is a LangChain `LLM` whose `.stream(prompt, **options)` yields text chunks as
tokens arrive. Per-call options travel as kwargs: max_new_tokens, temperature,
ignore_eos (generate exactly max_new_tokens: no eos ids, no stop strings), cancel_event
(threading.Event) and stats (a GenerationStats that is filled in).
It also offers `tokenizer` (HF tokenizer: chat template) and `count_tokens(prompt)`.

    LLM_BACKEND=optimum  llm_optimum.OptimumLLM: one OVModelForCausalLM, one stream at a time
    LLM_BACKEND=genai    llm_genai.GenaiLLM: openvino-genai continuous batching, streams batched
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.language_models.llms import LLM
from pydantic import ConfigDict

from .errors import ConfigError, ModelMissingError

log = logging.getLogger(__name__)


@dataclass
class GenerationStats:
    """Filled in by one `.stream()` call: usage and why it ended."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None  # "stop" | "length" | "cancelled"

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


class StreamingLLM(LLM):
    """What both backends share: the HF tokenizer, stops, defaults, token counting."""

    tokenizer: Any
    stop_strings: tuple[str, ...] = ()
    max_new_tokens: int = 256
    seed: int | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _call(self, prompt: str, stop: list[str] | None = None, run_manager=None, **kwargs: Any) -> str:
        return "".join(chunk.text for chunk in self._stream(prompt, stop, run_manager, **kwargs))

    def count_tokens(self, prompt: str) -> int:
        return len(self.encode(prompt))

    def encode(self, prompt: str) -> list[int]:
        bos = getattr(self.tokenizer, "bos_token", None)
        # a chat template usually writes the BOS itself: don't add a second one
        add_special = not (bos and prompt.startswith(bos))
        return list(self.tokenizer(prompt, add_special_tokens=add_special)["input_ids"])

    def split_stops(self, stop: list[str] | None, eos_ids: list[int],
                    ignore_eos: bool = False) -> tuple[list[int], tuple[str, ...]]:
        """Preset + call stops: those that are one special token become eos ids (decoding
        would hide them), the rest stay text stops. `ignore_eos`: none at all."""
        if ignore_eos:
            return [], ()
        stop_strings = tuple(dict.fromkeys((*self.stop_strings, *(stop or ()))))
        eos_ids = list(eos_ids)
        if self.tokenizer.eos_token_id is not None:
            eos_ids.append(self.tokenizer.eos_token_id)
        special = set(self.tokenizer.all_special_tokens) | set(self.tokenizer.get_added_vocab())
        text_stops = []
        for s in stop_strings:
            if s in special:
                eos_ids.append(self.tokenizer.convert_tokens_to_ids(s))
            else:
                text_stops.append(s)
        return list(dict.fromkeys(eos_ids)), tuple(text_stops)


def check_device(device: str) -> None:
    import openvino as ov

    available = ov.Core().available_devices
    if not any(d == device or d.startswith(device + ".") for d in available):
        raise ConfigError(
            f"DEVICE: OpenVINO device {device} is not available; available devices: {', '.join(available)}"
        )


def check_model_dir(model_dir: Path, preset_name: str) -> None:
    if (Path(model_dir) / "openvino_model.xml").is_file():
        return
    hint = f"`python download_model.py --model {preset_name}`"
    if Path(model_dir).name.endswith(("_compressed_weights", "_FP16")):
        hint += f" then `python compress_model.py --model {preset_name}`"
    state = "has no openvino_model.xml" if Path(model_dir).is_dir() else "not found"
    raise ModelMissingError(f"LLM model folder {model_dir} {state}; create it with {hint}")


def load_llm(settings) -> StreamingLLM:
    """Load the model once, with the backend settings.llm_backend names."""
    check_device(settings.device)
    from .online import with_llm_folder

    settings = with_llm_folder(settings)  # online mode: a missing default folder is pulled
    check_model_dir(settings.llm_model_dir, settings.selected_model)
    if settings.llm_backend == "genai":
        from .llm_genai import load_genai_llm

        return load_genai_llm(settings)
    from .llm_optimum import load_optimum_llm

    return load_optimum_llm(settings)


def __getattr__(name: str):  # `from ragbot.llm import OptimumLLM` keeps working
    if name == "OptimumLLM":
        from .llm_optimum import OptimumLLM

        return OptimumLLM
    raise AttributeError(name)
