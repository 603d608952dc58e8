"""LLM_BACKEND=optimum: a streaming LLM over ONE optimum-intel OVModelForCausalLM.

`generate` runs in a worker thread and feeds a queue (text pieces, then an end or an
error marker) that `_stream` turns into GenerationChunks as tokens arrive. The model
cannot generate from two threads at once, so generations are serialised by a lock.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.outputs import GenerationChunk
from pydantic import PrivateAttr

from .errors import GenerationError
from .llm import GenerationStats, StreamingLLM
from .token_stream import QueueStreamer, StopCheck, stopping_criteria

log = logging.getLogger(__name__)


class OptimumLLM(StreamingLLM):
    model: Any

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "optimum-intel-openvino"

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
        model_eos = _model_eos(self.model)
        eos_ids, text_stops = self.split_stops(stop, model_eos, ignore_eos)
        max_new = max_new_tokens or self.max_new_tokens
        # transformers needs eos ids to pad with; min_new_tokens keeps them from ending it
        length = {"min_new_tokens": max_new} if ignore_eos else {}
        eos_ids = eos_ids or model_eos or [self.tokenizer.eos_token_id]

        inputs = self._tokenize(prompt)
        stats.prompt_tokens = int(inputs["input_ids"].shape[1])
        events: queue.Queue = queue.Queue()
        streamer = QueueStreamer(self.tokenizer, text_stops, events)
        should_stop = StopCheck(cancel_event or threading.Event(), streamer)

        def generate() -> None:
            try:
                with self._lock:
                    if should_stop():
                        events.put(("done", None))
                        return
                    output = self.model.generate(
                        **inputs,
                        **_sampling(temperature, self.seed),
                        max_new_tokens=max_new,
                        **length,
                        eos_token_id=eos_ids,
                        pad_token_id=_pad_id(self.tokenizer, eos_ids),
                        streamer=streamer,
                        stopping_criteria=stopping_criteria(should_stop),
                    )
                events.put(("done", output))
            except BaseException as exc:  # reaches the consumer at once, never a timeout
                events.put(("error", exc))

        worker = threading.Thread(target=generate, name="llm-generate", daemon=True)
        worker.start()
        try:
            while True:
                kind, payload = events.get()
                if kind == "text":
                    chunk = GenerationChunk(text=payload)
                    if run_manager:
                        run_manager.on_llm_new_token(payload, chunk=chunk)
                    yield chunk
                elif kind == "error":
                    stats.finish_reason = "stop"
                    raise GenerationError(f"generation failed: {type(payload).__name__}: {payload}") from payload
                else:
                    self._finish(stats, payload, [] if ignore_eos else eos_ids, streamer, max_new,
                                 should_stop.cancelled)
                    return
        finally:
            if worker.is_alive():
                should_stop.abandoned.set()

    def _tokenize(self, prompt: str) -> dict:
        import torch

        ids = torch.tensor([self.encode(prompt)], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    @staticmethod
    def _finish(stats, output, eos_ids, streamer, max_new, cancelled) -> None:
        stats.completion_tokens = streamer.generated
        if output is not None:
            stats.completion_tokens = int(output.shape[1]) - stats.prompt_tokens
        if cancelled:
            stats.finish_reason = "cancelled"
        elif streamer.stop_hit or (output is not None and int(output[0, -1]) in eos_ids):
            stats.finish_reason = "stop"
        elif stats.completion_tokens >= max_new:
            stats.finish_reason = "length"
        else:
            stats.finish_reason = "stop"


def _model_eos(model) -> list[int]:
    eos = model.generation_config.eos_token_id
    return [eos] if isinstance(eos, int) else list(eos or [])


def _pad_id(tokenizer, eos_ids: list[int]) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]


def _sampling(temperature: float | None, seed: int | None) -> dict:
    if not temperature:
        return {"do_sample": False}
    if seed is not None:
        import torch

        torch.manual_seed(seed)  # under the generation lock: reproducible per request
    return {"do_sample": True, "temperature": temperature}


def load_optimum_llm(settings) -> OptimumLLM:
    from optimum.intel import OVModelForCausalLM  # ~6 s import: keep it lazy
    from transformers import AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(settings.llm_model_dir))
    model = OVModelForCausalLM.from_pretrained(
        str(settings.llm_model_dir), device=settings.device, ov_config=dict(settings.ov_config)
    )
    log.info(
        "LLM %s loaded on %s in %.1f s (optimum)", settings.llm_model_dir, settings.device, time.monotonic() - started
    )
    return OptimumLLM(
        model=model,
        tokenizer=tokenizer,
        stop_strings=settings.preset.stop_strings,
        max_new_tokens=settings.max_new_tokens,
        seed=settings.seed,
    )
