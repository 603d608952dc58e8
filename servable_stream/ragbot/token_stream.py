"""Token plumbing between transformers' generate() and a consumer thread.

QueueStreamer decodes new tokens, cuts text stop strings and feeds a queue;
StopCheck is asked after every token whether generation must end.
"""
from __future__ import annotations

import queue
import threading
from typing import Any


class StopCheck:
    """Asked after every token: stop on cancel, on a vanished consumer or a stop string."""

    def __init__(self, cancel: threading.Event, streamer: "QueueStreamer"):
        self.cancel = cancel
        self.abandoned = threading.Event()
        self.cancelled = False  # generation was cut short by cancel/abandon
        self._streamer = streamer

    def __call__(self) -> bool:
        if self.cancel.is_set() or self.abandoned.is_set():
            self.cancelled = True
            return True
        return self._streamer.stop_hit


def stopping_criteria(should_stop):
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopWhen(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return torch.full((input_ids.shape[0],), should_stop(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([StopWhen()])


class QueueStreamer:
    """transformers streamer: decodes new tokens, cuts text stop strings, feeds the queue.

    Text that might be the start of a stop string is held back until it is not.
    """

    def __init__(self, tokenizer: Any, stop_strings: tuple[str, ...], events: queue.Queue):
        self._tokenizer = tokenizer
        self._stops = stop_strings
        self._events = events
        self._ids: list[int] = []
        self._emitted = 0
        self._prompt_seen = False
        self.stop_hit = False

    @property
    def generated(self) -> int:
        return len(self._ids)

    def put(self, value) -> None:
        if not self._prompt_seen:  # generate() first pushes the prompt
            self._prompt_seen = True
            return
        if self.stop_hit:
            return
        self._ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # an incomplete multi-byte character
            return
        cut = min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stop_hit = True
            self._emit(text[:cut])
        else:
            self._emit(text[: len(text) - self._held_back(text)])

    def end(self) -> None:
        if not self.stop_hit:
            self._emit(self._tokenizer.decode(self._ids, skip_special_tokens=True))

    def _held_back(self, text: str) -> int:
        longest = 0
        for s in self._stops:
            for n in range(min(len(s) - 1, len(text)), longest, -1):
                if text.endswith(s[:n]):
                    longest = n
                    break
        return longest

    def _emit(self, text: str) -> None:
        if len(text) > self._emitted:
            self._events.put(("text", text[self._emitted :]))
            self._emitted = len(text)
