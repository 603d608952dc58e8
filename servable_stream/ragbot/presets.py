"""Model presets: one place that knows each supported LLM.

Scripts (download/compress) and the servable read this module; nothing else
hard-codes a hub id, a prompt style or a compression recipe.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError


@dataclass(frozen=True)
class Int4Recipe:
    """NNCF INT4 weight-compression settings (as in the seed's compress script)."""

    mode: str  # "int4_sym" | "int4_asym"
    group_size: int
    ratio: float


@dataclass(frozen=True)
class Preset:
    name: str
    hub_id: str | None  # None: built locally (tiny-random)
    prompt_style: str  # "zephyr" (<|system|>/<|user|>/<|assistant|>) | "llama2" ([INST] <<SYS>>)
    stop_strings: tuple[str, ...]
    int4: Int4Recipe
    gated: bool = False  # needs HF_TOKEN (license agreement on the hub)
    context_window: int = 2048


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


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
