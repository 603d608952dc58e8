"""A streaming LangChain LLM over ONE optimum-intel OVModelForCausalLM.

`generate` runs in a worker thread and feeds a queue (text pieces, then an end or an
error marker) that `_stream` turns into GenerationChunks as tokens arrive. The model
cannot generate from two threads at once, so generations are serialised by a lock.
Per-call options travel as kwargs of `.stream()`: max_new_tokens, temperature,
cancel_event (threading.Event) and stats (a GenerationStats that is filled in).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.llms import LLM
from langchain_core.outputs import GenerationChunk
from pydantic import ConfigDict, PrivateAttr

from .errors import ConfigError, GenerationError, ModelMissingError
from .token_stream import QueueStreamer, StopCheck, stopping_criteria

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


class OptimumLLM(LLM):
    model: Any
    tokenizer: Any
    stop_strings: tuple[str, ...] = ()
    max_new_tokens: int = 256
    seed: int | None = None

    model_config = ConfigDict(arbitrary_types_allowed=True)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "optimum-intel-openvino"

    def _call(self, prompt: str, stop: list[str] | None = None, run_manager=None, **kwargs: Any) -> str:
        return "".join(chunk.text for chunk in self._stream(prompt, stop, run_manager, **kwargs))

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        *,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        cancel_event: threading.Event | None = None,
        stats: GenerationStats | None = None,
        **_: Any,
    ) -> Iterator[GenerationChunk]:
        stats = stats if stats is not None else GenerationStats()
        stop_strings = tuple(dict.fromkeys((*self.stop_strings, *(stop or ()))))
        eos_ids, text_stops = self._split_stops(stop_strings)
        max_new = max_new_tokens or self.max_new_tokens

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
                    self._finish(stats, payload, eos_ids, streamer, max_new, should_stop.cancelled)
                    return
        finally:
            if worker.is_alive():
                should_stop.abandoned.set()

    def count_tokens(self, prompt: str) -> int:
        return int(self._tokenize(prompt)["input_ids"].shape[1])

    def _tokenize(self, prompt: str) -> dict:
        bos = getattr(self.tokenizer, "bos_token", None)
        # a chat template usually writes the BOS itself: don't add a second one
        add_special = not (bos and prompt.startswith(bos))
        return dict(self.tokenizer(prompt, return_tensors="pt", add_special_tokens=add_special))

    def _split_stops(self, stop_strings: tuple[str, ...]) -> tuple[list[int], tuple[str, ...]]:
        """Stops that are one special token become eos ids (decoding would hide them)."""
        eos = self.model.generation_config.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
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


def _pad_id(tokenizer, eos_ids: list[int]) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]


def _sampling(temperature: float | None, seed: int | None) -> dict:
    if not temperature:
        return {"do_sample": False}
    if seed is not None:
        import torch

        torch.manual_seed(seed)  # under the generation lock: reproducible per request
    return {"do_sample": True, "temperature": temperature}


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


def load_llm(settings) -> OptimumLLM:
    """Load the model once (device and ov_config from settings)."""
    check_device(settings.device)
    check_model_dir(settings.llm_model_dir, settings.selected_model)
    from optimum.intel import OVModelForCausalLM  # ~6 s import: keep it lazy
    from transformers import AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(settings.llm_model_dir))
    model = OVModelForCausalLM.from_pretrained(
        str(settings.llm_model_dir), device=settings.device, ov_config=dict(settings.ov_config)
    )
    log.info(
        "LLM %s loaded on %s in %.1f s", settings.llm_model_dir, settings.device, time.monotonic() - started
    )
    return OptimumLLM(
        model=model,
        tokenizer=tokenizer,
        stop_strings=settings.preset.stop_strings,
        max_new_tokens=settings.max_new_tokens,
        seed=settings.seed,
    )
