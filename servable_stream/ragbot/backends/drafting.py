"""How the genai engine drafts tokens: plain (one token per model step), prompt lookup, or a
draft model. Chosen once from the settings (PROMPT_LOOKUP, DRAFT_MODEL / DRAFT_MODEL_DIR,
NUM_ASSISTANT_TOKENS, MAX_NGRAM_SIZE; a preset's DecodingProfile gives the defaults).

- prompt lookup: each step the engine looks up the last `max_ngram_size` tokens in the prompt
  and proposes the `num_assistant_tokens` tokens that followed them there; the model checks
  them all in one step and keeps the longest prefix it would have generated itself. A RAG answer
  copies from its passages, so many are kept, at almost no cost.
- draft model: a smaller model with the same tokenizer proposes `num_assistant_tokens` tokens,
  the LLM checks them the same way. The draft has its own KV cache, sized like the LLM's.

Greedy decoding keeps the LLM's own choice at every position, so the answer is the plain one;
only how many tokens each step of the LLM yields changes. (Not bit for bit: the LLM checks k
tokens in one pass, whose rounding differs from k one-token passes, so a near-tie can go the
other way; `make eval` holds the answers' marks equal, see docs/backends.md.)

openvino-genai runs one of the two per pipeline (it refuses both), and every request on a
drafting pipeline must carry `num_assistant_tokens` (and `max_ngram_size` for prompt lookup),
the warm-up's included, or add_request throws: `apply` does it for every GenerationConfig.

Under load it drafts less (`under_load`): with other streams generating, every drafted token
the LLM checks is batched compute beside their tokens, and a rejected one is compute wasted
(hand timings on the 1.5B, on a loaded machine: four concurrent RAG streams drafting 5 tokens
each made less aggregate throughput than plain decoding, while a lone stream gained; `make
bench BENCH_STAGE=qwen15` records the 1 / 4 / 8-stream figures per mode). A request that
arrives while BUSY_STREAMS others are in flight drafts BUSY_ASSISTANT_TOKENS per step (the
fewest a drafting pipeline takes; the number of tokens is fixed per request: one that started
alone keeps its own).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ModelMissingError
from ..settings import Settings

PLAIN, PROMPT_LOOKUP, DRAFT_MODEL = "plain", "prompt_lookup", "draft_model"
BUSY_STREAMS = 1  # other streams in flight from which a new request drafts less
BUSY_ASSISTANT_TOKENS = 1
# a draft must tokenise as the LLM does: these texts must give the same ids with both
_TOKENIZER_PROBES = ("Hello world", "def f(x):\n    return x * 2  # ünïcode 日本", "<|im_start|>user\nHi<|im_end|>\n")


@dataclass(frozen=True)
class Drafting:
    mode: str = PLAIN
    num_assistant_tokens: int = 5
    max_ngram_size: int = 3
    draft_dir: Path | None = None
    draft_name: str | None = None  # the draft's preset (download hints), if it is one

    @classmethod
    def from_settings(cls, settings: Settings) -> "Drafting":
        if settings.prompt_lookup:
            return cls(PROMPT_LOOKUP, settings.num_assistant_tokens, settings.max_ngram_size)
        if settings.draft_model_dir is not None:
            return cls(DRAFT_MODEL, settings.num_assistant_tokens, settings.max_ngram_size,
                       Path(settings.draft_model_dir), settings.draft_model)
        return cls()

    @property
    def drafts(self) -> bool:
        return self.mode != PLAIN

    def under_load(self, others: int) -> "Drafting":
        """What a request arriving while `others` streams are in flight drafts."""
        if self.mode == PLAIN or others < BUSY_STREAMS:
            return self
        return dataclasses.replace(self, num_assistant_tokens=min(self.num_assistant_tokens, BUSY_ASSISTANT_TOKENS))

    def apply(self, config) -> None:
        """Every request on a drafting pipeline must say how many tokens to draft."""
        if self.mode == PLAIN:
            return
        config.num_assistant_tokens = self.num_assistant_tokens
        if self.mode == PROMPT_LOOKUP:
            config.max_ngram_size = self.max_ngram_size

    def pipeline_properties(self, device: str, draft_props: dict | None = None,
                            draft_scheduler=None) -> dict:
        """What ContinuousBatchingPipeline's properties get to draft this way."""
        if self.mode == PROMPT_LOOKUP:
            return {"prompt_lookup": True}
        if self.mode == DRAFT_MODEL:
            import openvino_genai as ov_genai

            extra = {"scheduler_config": draft_scheduler} if draft_scheduler is not None else {}
            return {"draft_model": ov_genai.draft_model(str(self.draft_dir), device, **(draft_props or {}), **extra)}
        return {}

    def describe(self) -> str:
        """For the start-up log line."""
        if self.mode == PROMPT_LOOKUP:
            return (f"prompt lookup ({self.num_assistant_tokens} tokens per step from n-grams of up to "
                    f"{self.max_ngram_size})")
        if self.mode == DRAFT_MODEL:
            return f"draft model {self.draft_dir} ({self.num_assistant_tokens} tokens per step)"
        return "plain (one token per step)"


def check_draft_folder(drafting: Drafting, llm_folder: str | Path) -> None:
    """The draft folder holds a model whose tokenizer gives the LLM's ids (else a ConfigError
    now, rather than openvino-genai's "Tokenizers for draft and main models are different!")."""
    if drafting.mode != DRAFT_MODEL:
        return
    folder = Path(drafting.draft_dir)
    if not (folder / "openvino_model.xml").is_file():
        name = drafting.draft_name or "<preset>"
        state = "has no openvino_model.xml" if folder.is_dir() else "not found"
        raise ModelMissingError(
            f"draft model folder {folder} {state}; create it with `python download_model.py --model {name}` "
            f"or set DRAFT_MODEL=off")
    from .folder_tokenizer import FolderTokenizer

    try:
        draft = FolderTokenizer.load(folder)
    except Exception as exc:  # noqa: BLE001 - any unreadable tokenizer is the same mistake
        raise ConfigError(f"draft model folder {folder}: its tokenizer cannot be read ({exc})") from None
    llm_tokenizer = FolderTokenizer.load(llm_folder)
    for text in _TOKENIZER_PROBES:
        if draft(text)["input_ids"] != llm_tokenizer(text)["input_ids"]:
            raise ConfigError(
                f"the draft model in {folder} tokenises {text!r} differently from the LLM: a draft "
                f"must share the LLM's tokenizer (e.g. qwen2.5-coder-0.5b-instruct for "
                f"qwen2.5-coder-1.5b-instruct); set DRAFT_MODEL=off or pick another draft")
    if draft.eos_token_id != llm_tokenizer.eos_token_id:
        raise ConfigError(f"the draft model in {folder} ends text with another token than the LLM "
                          f"({draft.eos_token} vs {llm_tokenizer.eos_token}); set DRAFT_MODEL=off")
