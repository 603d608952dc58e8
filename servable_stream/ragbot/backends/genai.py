"""LLM_BACKEND=genai: every stream on the one shared continuous-batching engine.

Same contract as the optimum backend (contract.Backend): the prompt is tokenised with the
model folder's HF tokenizer (same ids, same counts, same chat template), the engine batches
it with every other active stream, and contract.stream_text turns the new ids into text in
the consumer's thread. Stops that are single special tokens become stop_token_ids; text
stops go to GenerationConfig.stop_strings and are also cut by the consumer.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..errors import GenerationError
from ..mapped_weights import log_released, releasing
from ..run import RunContext
from ..settings import Settings
from .contract import Backend, GenerationOptions, stream_text
from .drafting import Drafting, check_draft_folder
from .folder_tokenizer import FolderTokenizer
from .genai_engine import ContinuousBatchingEngine, ids_tensor
from .kv_cache import KvCachePlan, log_plan, plan_kv_cache, scheduler_fields
from .weight_groups import matched_dynamic_quantization

log = logging.getLogger(__name__)

# Scheduler: sized for a handful of chat streams on CPU (see docs/backends.md for the numbers).
# The KV cache is sized per model and settings at load (kv_cache.py: num_kv_blocks).
SCHEDULER = {
    "max_num_seqs": 16,
    # split-fuse: a long new prompt is prefilled in slices (MAX_NUM_BATCHED_TOKENS, settings)
    # alongside the other streams' decode steps, so they keep streaming
    "dynamic_split_fuse": True,
    "enable_prefix_caching": True,  # system prompt + earlier turns are reused across turns
}
# The KV cache in u8: ~60 % of bf16's memory, decode no slower in a quiet `make bench`
# (TinyLlama-sized 22.8 vs 20.5 tok/s, SmolLM2 70.4 vs 69.6) and eval accuracy 0.75 vs 0.722
# (docs/backends.md). OV_CONFIG {"KV_CACHE_PRECISION": "bf16"} turns it back. CPU only: the
# GPU plugin keeps its own default (not measurable here).
GENAI_PROPERTIES: dict = {"CPU": {"KV_CACHE_PRECISION": "u8"}}


def engine_properties(ov_config: dict, device: str = "CPU", model_dir: Path | None = None) -> dict:
    """What the engine is given: our defaults for the device (and dynamic quantization in the
    model's INT4 groups, weight_groups.py) under OV_CONFIG (an empty value drops a key).
    Applied to OV_CONFIG as given, once for the plan and once in make_pipeline: merged twice,
    an empty value would bring the default back."""
    merged = {**GENAI_PROPERTIES.get(device.split(".")[0], {}),
              **matched_dynamic_quantization(model_dir, device, ov_config), **ov_config}
    return {k: v for k, v in merged.items() if v != ""}


class GenaiBackend(Backend):
    name = "genai"

    def __init__(self, engine: ContinuousBatchingEngine, tokenizer: Any, stop_strings: tuple[str, ...] = (),
                 seed: int | None = None, eos_ids: tuple[int, ...] = (), engine_stop_strings: bool = True,
                 drafting: Drafting = Drafting()):
        super().__init__(tokenizer, stop_strings, seed)
        self.engine = engine
        self.eos_ids = tuple(eos_ids)
        self.drafting = drafting
        self._in_flight = 0  # generations submitted and not finished (drafting under load)
        self._lock = threading.Lock()
        # the pipeline matches text stop strings with the folder's openvino_tokenizer; without
        # it a stop string would fail the whole step, so they are only cut here (and the
        # request released)
        self.engine_stop_strings = engine_stop_strings

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        eos_ids, text_stops = self.split_stops(options, list(self.eos_ids))
        prompt_ids = self.encode(prompt)
        run.stats.prompt_tokens = len(prompt_ids)
        engine_stops = text_stops if self.engine_stop_strings else ()
        with self._lock:
            drafting = self.drafting.under_load(self._in_flight)
            self._in_flight += 1
        try:
            config = generation_config(options.max_new_tokens, options.temperature, self.seed, eos_ids,
                                       engine_stops, options.ignore_eos, drafting)
            request = self.engine.submit(prompt_ids, config, run.cancel_event)
            try:
                yield from stream_text(request.events, self.tokenizer, text_stops, run.stats,
                                       release=request.release, guard_loops=options.guard_loops)
            finally:
                run.stats.model_steps = request.steps
        finally:
            with self._lock:
                self._in_flight -= 1

    def close(self) -> None:
        self.engine.close()


def generation_config(max_new: int, temperature: float | None, seed: int | None, eos_ids, text_stops,
                      ignore_eos: bool = False, drafting: Drafting = Drafting()):
    import openvino_genai as ov_genai

    config = ov_genai.GenerationConfig()
    drafting.apply(config)
    config.max_new_tokens = max_new
    if ignore_eos:
        config.ignore_eos = True
        config.min_new_tokens = max_new
    config.stop_token_ids = set(eos_ids)
    config.stop_strings = set(text_stops)
    config.include_stop_str_in_output = False
    if temperature:
        if temperature < 0:
            raise GenerationError(f"generation failed: temperature must be >= 0, got {temperature}")
        config.do_sample = True
        config.temperature = float(temperature)
        if seed is not None:
            config.rng_seed = seed
    try:
        config.validate()
    except Exception as exc:
        raise GenerationError(f"generation failed: invalid generation settings: {exc}") from exc
    return config


def make_pipeline(model_dir, device: str, properties: dict, scheduler: dict | None = None,
                  kv_plan: KvCachePlan | None = None, drafting: Drafting = Drafting(),
                  draft_plan: KvCachePlan | None = None):
    """The engine; without a plan (tests, tools) the KV cache is sized for one context window.
    A draft model gets the same properties and its own KV cache (`draft_plan`, same tokens):
    left to itself, openvino-genai would split a cache given in GB, or give the draft as many
    blocks as the LLM."""
    import openvino_genai as ov_genai

    props = engine_properties(properties, device, model_dir)
    if kv_plan is None:
        kv_plan = plan_kv_cache(model_dir, device, props, context_window=2048,
                                max_concurrent_streams=1, max_num_seqs=1)
    config = scheduler_config(kv_plan, scheduler)
    draft_scheduler = None
    if drafting.draft_dir is not None:
        if draft_plan is None:
            draft_plan = plan_kv_cache(drafting.draft_dir, device, props, context_window=kv_plan.tokens,
                                       max_concurrent_streams=1, max_num_seqs=1)
        draft_scheduler = scheduler_config(draft_plan, scheduler)
    extra = drafting.pipeline_properties(device, props, draft_scheduler)
    return ov_genai.ContinuousBatchingPipeline(str(model_dir), config, device, {**props, **extra})


def scheduler_config(kv_plan: KvCachePlan, scheduler: dict | None = None):
    import openvino_genai as ov_genai

    fields = {**SCHEDULER, **scheduler_fields(kv_plan), **(scheduler or {})}
    if (scheduler or {}).get("cache_size") and "num_kv_blocks" not in scheduler:
        fields["num_kv_blocks"] = 0  # the caller sized it in GB: num_kv_blocks would win
    config = ov_genai.SchedulerConfig()
    for key, value in fields.items():
        setattr(config, key, value)
    return config


def engine_kv_bytes(pipe) -> int | None:
    """The KV cache the engine allocated, as it reports it (None if this version does not); it
    allocates the planned blocks at its first step, so 0 before any request."""
    try:
        return int(pipe.get_metrics().kv_cache_size_in_bytes)
    except (AttributeError, TypeError, RuntimeError):
        return None


def warm_up(pipe, prompt_ids: list[int], drafting: Drafting = Drafting()) -> None:
    """One short request before the engine serves: the CPU plugin compiles its kernels and
    repacks its weights now, not in the first user's request. Through `generate()`, which lets
    go of the GIL while it runs (`step()` holds it), so the weight file's pages can be given
    back meanwhile (load_genai). With drafting, the LLM checks several tokens in one step: 4
    tokens run that shape too (and the draft model, if any)."""
    import openvino_genai as ov_genai

    config = ov_genai.GenerationConfig()
    config.max_new_tokens = config.min_new_tokens = 4 if drafting.drafts else 2
    config.ignore_eos = True
    drafting.apply(config)
    pipe.generate([ids_tensor(prompt_ids)], [config])


def load_genai(settings: Settings, scheduler: dict | None = None) -> GenaiBackend:
    started = time.monotonic()
    scheduler = {"max_num_batched_tokens": settings.max_num_batched_tokens, **(scheduler or {})}
    drafting = Drafting.from_settings(settings)
    check_draft_folder(drafting, settings.llm_model_dir)
    props = engine_properties(dict(settings.ov_config), settings.device, settings.llm_model_dir)
    plan = {"context_window": settings.preset.context_window,
            "max_concurrent_streams": settings.max_concurrent_streams,
            "max_num_seqs": int({**SCHEDULER, **(scheduler or {})}["max_num_seqs"])}
    # sized for the properties make_pipeline will give the engine
    kv_plan = plan_kv_cache(settings.llm_model_dir, settings.device, props, **plan, override_mb=settings.kv_cache_mb)
    draft_plan = None
    if drafting.draft_dir is not None:  # as many tokens as the LLM's cache, at the draft's size
        draft_plan = plan_kv_cache(drafting.draft_dir, settings.device, props, context_window=kv_plan.tokens,
                                   max_concurrent_streams=1, max_num_seqs=1)
    pipe = make_pipeline(settings.llm_model_dir, settings.device, dict(settings.ov_config), scheduler, kv_plan,
                         drafting, draft_plan)
    has_ov_tokenizer = (Path(settings.llm_model_dir) / "openvino_tokenizer.xml").is_file()
    # the folder's tokenizer and chat template without transformers; ids from the engine's
    # own tokenizer where the folder has one (one tokenizer in memory, not two)
    tokenizer = FolderTokenizer.load(settings.llm_model_dir,
                                     engine=pipe.get_tokenizer() if has_ov_tokenizer else None)
    log_plan(kv_plan)
    log.info("LLM engine properties: %s; prefill slices of %d tokens", props,
             scheduler["max_num_batched_tokens"])
    if draft_plan is not None:
        log_plan(draft_plan, "draft model's KV cache")
    weights = {"LLM": Path(settings.llm_model_dir) / "openvino_model.bin"}
    if drafting.draft_dir is not None:
        weights["draft model"] = Path(drafting.draft_dir) / "openvino_model.bin"
    # the pages the repacking has read are given back while it goes on, not all at its end:
    # the load no longer peaks at the weights twice (docs/backends.md)
    with releasing(weights.values()) as released:
        warm_up(pipe, tokenizer("warm-up")["input_ids"] or [0], drafting)
    for what, path in weights.items():
        log_released(what, released[path])
    if not has_ov_tokenizer:
        log.warning(
            "%s has no openvino_tokenizer.xml: text stop strings are cut after decoding only; "
            "re-create the folder with `python download_model.py --model %s` to have the engine stop on them",
            settings.llm_model_dir, settings.selected_model,
        )
    eos = pipe.get_config().eos_token_id
    log.info(
        "LLM %s loaded on %s in %.1f s (genai continuous batching; decoding: %s)",
        settings.llm_model_dir, settings.device, time.monotonic() - started, drafting.describe(),
    )
    return GenaiBackend(
        ContinuousBatchingEngine(pipe),
        tokenizer,
        settings.preset.stop_strings,
        settings.seed,
        eos_ids=(eos,) if isinstance(eos, int) and eos >= 0 else (),
        engine_stop_strings=has_ov_tokenizer,
        drafting=drafting,
    )
