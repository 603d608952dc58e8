"""LLM_BACKEND=genai: a streaming LLM over the shared continuous-batching engine.

Same contract as the optimum backend (llm.StreamingLLM): the prompt is tokenised with the
model folder's HF tokenizer (same ids, same counts, same chat template), the engine batches
it with every other active stream, and the consumer thread turns the new ids into text
(IncrementalDecoder + StopCutter). Stops that are single special tokens become
stop_token_ids; text stops go to GenerationConfig.stop_strings and are also cut here.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.outputs import GenerationChunk

from .errors import GenerationError
from .llm import GenerationStats, StreamingLLM
from .llm_genai_engine import ContinuousBatchingEngine
from .token_stream import TextAssembler

log = logging.getLogger(__name__)

# Scheduler: sized for a handful of chat streams on CPU (see docs/backends.md for the numbers).
SCHEDULER = {
    "cache_size": 1,  # GB of KV cache (bf16 KV, TinyLlama: ~22 KB/token, ~46k tokens)
    "max_num_seqs": 16,
    # split-fuse: a long new prompt is prefilled in 1024-token slices alongside the other
    # streams' decode steps, so they keep streaming; measured: no cost for a lone stream
    "max_num_batched_tokens": 1024,
    "dynamic_split_fuse": True,
    "enable_prefix_caching": True,  # system prompt + earlier turns are reused across turns
}
# The KV cache keeps the plugin's default precision: u8 (OV_CONFIG {"KV_CACHE_PRECISION": "u8"})
# halves its memory but cost a lone stream 2-13 % decode speed here (docs/backends.md).
GENAI_PROPERTIES: dict = {}


class GenaiLLM(StreamingLLM):
    engine: Any  # ContinuousBatchingEngine
    eos_ids: tuple[int, ...] = ()
    # the pipeline matches text stop strings with the folder's openvino_tokenizer; without it
    # a stop string would fail the whole step, so they are only cut here (and the request released)
    engine_stop_strings: bool = True

    @property
    def _llm_type(self) -> str:
        return "openvino-genai-continuous-batching"

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        ignore_eos: bool = False,
        cancel_event: threading.Event | None = None,
        stats: GenerationStats | None = None,
        **_: Any,
    ) -> Iterator[GenerationChunk]:
        stats = stats if stats is not None else GenerationStats()
        eos_ids, text_stops = self.split_stops(stop, list(self.eos_ids), ignore_eos)
        max_new = max_new_tokens or self.max_new_tokens
        prompt_ids = self.encode(prompt)
        stats.prompt_tokens = len(prompt_ids)
        engine_stops = text_stops if self.engine_stop_strings else ()
        config = generation_config(max_new, temperature, self.seed, eos_ids, engine_stops, ignore_eos)
        cancel_event = cancel_event or threading.Event()

        request = self.engine.submit(prompt_ids, config, cancel_event)
        text = TextAssembler(self.tokenizer, text_stops)
        try:
            while True:
                kind, payload = request.events.get()
                if kind == "ids":
                    piece = text.push(payload)
                    if piece:
                        yield self._chunk(piece, run_manager)
                    if text.stop_hit:  # cut here before the engine saw it: it stops now
                        stats.finish_reason = "stop"
                        return
                elif kind == "error":
                    stats.finish_reason = "stop"
                    raise GenerationError(f"generation failed: {type(payload).__name__}: {payload}") from payload
                else:
                    piece = text.finish()
                    if piece:
                        yield self._chunk(piece, run_manager)
                    stats.finish_reason = "stop" if text.stop_hit else payload
                    return
        finally:
            stats.completion_tokens = text.generated
            request.release()

    @staticmethod
    def _chunk(text: str, run_manager) -> GenerationChunk:
        chunk = GenerationChunk(text=text)
        if run_manager:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk


def generation_config(max_new: int, temperature: float | None, seed: int | None, eos_ids, text_stops,
                      ignore_eos: bool = False):
    import openvino_genai as ov_genai

    config = ov_genai.GenerationConfig()
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


def make_pipeline(model_dir, device: str, properties: dict, scheduler: dict | None = None):
    import openvino_genai as ov_genai

    config = ov_genai.SchedulerConfig()
    for key, value in {**SCHEDULER, **(scheduler or {})}.items():
        setattr(config, key, value)
    props = {**GENAI_PROPERTIES, **{k: v for k, v in properties.items() if v != ""}}
    return ov_genai.ContinuousBatchingPipeline(str(model_dir), config, device, props)


def load_genai_llm(settings, scheduler: dict | None = None) -> GenaiLLM:
    from transformers import AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(settings.llm_model_dir))
    pipe = make_pipeline(settings.llm_model_dir, settings.device, dict(settings.ov_config), scheduler)
    has_ov_tokenizer = (Path(settings.llm_model_dir) / "openvino_tokenizer.xml").is_file()
    if not has_ov_tokenizer:
        log.warning(
            "%s has no openvino_tokenizer.xml: text stop strings are cut after decoding only; "
            "re-create the folder with `python download_model.py --model %s` to have the engine stop on them",
            settings.llm_model_dir, settings.selected_model,
        )
    eos = pipe.get_config().eos_token_id
    log.info(
        "LLM %s loaded on %s in %.1f s (genai continuous batching)",
        settings.llm_model_dir, settings.device, time.monotonic() - started,
    )
    return GenaiLLM(
        engine=ContinuousBatchingEngine(pipe),
        tokenizer=tokenizer,
        stop_strings=settings.preset.stop_strings,
        max_new_tokens=settings.max_new_tokens,
        seed=settings.seed,
        eos_ids=(eos,) if isinstance(eos, int) and eos >= 0 else (),
        engine_stop_strings=has_ov_tokenizer,
    )
