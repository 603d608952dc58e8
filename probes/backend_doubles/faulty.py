"""faulty-<backend>: the real backend, failing or slowed for the prompts that ask for it.

A prompt holding FAULT_MARKER yields FAULT_AFTER_CHUNKS chunks, then raises RuntimeError (a
model crashing mid-answer: the error must reach the client in-band, at once); one holding
SLOW_MARKER is streamed with SLOW_SECONDS before each chunk (a slow model: streams stay in
flight long enough to cancel, queue or shut down). Other prompts are the real backend's.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Iterator

from ragbot.backends.contract import Backend, GenerationOptions
from ragbot.backends.registry import BACKENDS, BackendFactory
from ragbot.run import RunContext
from ragbot.settings import Settings

from . import FAULT_MARKER, SLOW_MARKER
from .prompt_log import with_prompt_log
from .wrapping import WrappedBackend

FAULT_AFTER_CHUNKS = 1
SLOW_SECONDS = 0.02


class FaultyBackend(WrappedBackend):
    def generate(self, prompt: str, options: GenerationOptions, run: RunContext) -> Iterator[str]:
        chunks = self.inner.generate(prompt, options, run)
        if SLOW_MARKER in prompt:
            return _paced(chunks, SLOW_SECONDS)
        if FAULT_MARKER in prompt:
            return _failing(chunks, FAULT_AFTER_CHUNKS)
        return chunks


def _paced(chunks: Iterator[str], seconds: float) -> Iterator[str]:
    try:
        for chunk in chunks:
            time.sleep(seconds)
            yield chunk
    finally:
        chunks.close()  # the real backend releases its generation however this one ends


def _failing(chunks: Iterator[str], after: int) -> Iterator[str]:
    try:
        for i, chunk in enumerate(chunks):
            if i >= after:
                raise RuntimeError("injected fault: the model failed mid-answer")
            yield chunk
        raise RuntimeError("injected fault: the model failed at the end")
    finally:
        chunks.close()


def faulty_factory(real: str) -> BackendFactory:
    """The factory of faulty-`real`: the registered backend `real`, built for these settings."""

    def load(settings: Settings) -> Backend:
        inner = BACKENDS.factory(real)(dataclasses.replace(settings, llm_backend=real))
        return with_prompt_log(FaultyBackend(inner))

    return load
