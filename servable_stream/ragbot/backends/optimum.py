"""LLM_BACKEND=optimum: ONE optimum-intel OVModelForCausalLM, one generation at a time.

`generate()` runs in a worker thread; its streamer puts the new token ids on a queue
that `contract.stream_text` turns into text in the caller's thread. The model cannot
generate from two threads at once, so generations are serialised by a lock. A stopping
criterion asked after every token ends the generation on cancel, or once the consumer is
gone (closed early, or it cut a stop string).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Iterator

from ..mapped_weights import log_released, releasing
from ..run import RunContext
from ..settings import Settings
from .contract import Backend, GenerationOptions, stream_text
from .weight_groups import matched_dynamic_quantization

log = logging.getLogger(__name__)


class OptimumBackend(Backend):
    name = "optimum"

    def __init__(self, model: Any, tokenizer: Any, stop_strings: tuple[str, ...] = (),
                 seed: int | None = None):
        super().__init__(tokenizer, stop_strings, seed)
        self.model = model
        self._lock = threading.Lock()

    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        stats = run.stats
        model_eos = _model_eos(self.model)
        eos_ids, text_stops = self.split_stops(options, model_eos)
        max_new = options.max_new_tokens
        # transformers needs eos ids to pad with; min_new_tokens keeps them from ending it
        length = {"min_new_tokens": max_new} if options.ignore_eos else {}
        generate_eos = eos_ids or model_eos or [self.tokenizer.eos_token_id]

        inputs = self._tokenize(prompt)
        stats.prompt_tokens = int(inputs["input_ids"].shape[1])
        events: queue.SimpleQueue = queue.SimpleQueue()
        should_stop = StopCheck(run.cancel_event)

        def work() -> None:
            try:
                with self._lock:
                    if should_stop():
                        events.put(("done", "cancelled"))
                        return
                    output = self.model.generate(
                        **inputs,
                        **_sampling(options.temperature, self.seed),
                        max_new_tokens=max_new,
                        **length,
                        eos_token_id=generate_eos,
                        pad_token_id=_pad_id(self.tokenizer, generate_eos),
                        streamer=IdsStreamer(events),
                        stopping_criteria=stopping_criteria(should_stop),
                    )
                generated = int(output.shape[1]) - stats.prompt_tokens
                events.put(("done", _finish_reason(output, eos_ids, generated, max_new, should_stop)))
            except BaseException as exc:  # reaches the consumer at once, never a timeout
                events.put(("error", exc))

        worker = threading.Thread(target=work, name="llm-generate", daemon=True)
        worker.start()
        yield from stream_text(events, self.tokenizer, text_stops, stats, release=should_stop.abandon,
                               guard_loops=options.guard_loops)

    def _tokenize(self, prompt: str) -> dict:
        import torch

        ids = torch.tensor([self.encode(prompt)], dtype=torch.long)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


class StopCheck:
    """Asked after every token: stop on cancel or once the consumer has gone."""

    def __init__(self, cancel: threading.Event):
        self._cancel = cancel
        self._abandoned = threading.Event()
        self.cut_short = False  # the generation was ended by this check

    def abandon(self) -> None:
        self._abandoned.set()

    def __call__(self) -> bool:
        if self._cancel.is_set() or self._abandoned.is_set():
            self.cut_short = True
            return True
        return False


class IdsStreamer:
    """transformers streamer: each step's new token ids -> ("ids", [...]) on the queue."""

    def __init__(self, events):
        self._events = events
        self._prompt_seen = False

    def put(self, value) -> None:
        if not self._prompt_seen:  # generate() first pushes the prompt
            self._prompt_seen = True
            return
        self._events.put(("ids", [int(t) for t in value.reshape(-1).tolist()]))

    def end(self) -> None:
        pass


def stopping_criteria(should_stop):
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhen(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), should_stop(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopWhen()])


def _finish_reason(output, eos_ids: list[int], generated: int, max_new: int, check: StopCheck) -> str:
    if check.cut_short:
        return "cancelled"
    if eos_ids and int(output[0, -1]) in eos_ids:
        return "stop"
    return "length" if generated >= max_new else "stop"


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


def load_optimum(settings: Settings) -> OptimumBackend:
    from optimum.intel import OVModelForCausalLM  # ~6 s import: keep it lazy
    from transformers import AutoTokenizer

    started = time.monotonic()
    tokenizer = AutoTokenizer.from_pretrained(str(settings.llm_model_dir))
    ov_config = {**matched_dynamic_quantization(settings.llm_model_dir, settings.device, settings.ov_config),
                 **settings.ov_config}
    model = OVModelForCausalLM.from_pretrained(str(settings.llm_model_dir), device=settings.device, ov_config=ov_config)
    log.info("LLM engine properties: %s", ov_config)
    weights = settings.llm_model_dir / "openvino_model.bin"
    with releasing([weights]) as released:  # OpenVINO's infer lets go of the GIL: given back meanwhile
        warm_up(model, tokenizer)
    log_released("LLM", released[weights])
    log.info(
        "LLM %s loaded on %s in %.1f s (optimum; decoding: %s)", settings.llm_model_dir, settings.device,
        time.monotonic() - started, decoding_note(settings),
    )
    return OptimumBackend(model, tokenizer, settings.preset.stop_strings, settings.seed)


def decoding_note(settings: Settings) -> str:
    """What the start-up line says about drafting: this backend offers none (settings refuse an
    explicit PROMPT_LOOKUP / DRAFT_MODEL with it; a preset's default one is dropped)."""
    profile = settings.preset.decoding
    dropped = ("prompt lookup" if profile.prompt_lookup else
               f"the draft model {profile.draft_model}" if profile.draft_model else None)
    note = "plain, one token per step (prompt lookup and draft models are LLM_BACKEND=genai features)"
    if dropped:
        note += f"; the preset's {dropped} is off with this backend"
    return note


def warm_up(model: Any, tokenizer: Any) -> None:
    """Two tokens before serving: the plugin compiles and repacks now, not in the first
    user's request (and the weight file's pages can then be released)."""
    ids = tokenizer("warm-up", return_tensors="pt")
    eos = _model_eos(model) or [tokenizer.eos_token_id]
    model.generate(**ids, max_new_tokens=2, min_new_tokens=2, do_sample=False,
                   pad_token_id=_pad_id(tokenizer, eos))
