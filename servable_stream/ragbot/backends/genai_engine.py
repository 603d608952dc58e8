"""One openvino-genai ContinuousBatchingPipeline driven by ONE thread, shared by all streams.

Only the driver thread touches the pipeline: it adds requests (funnelled through an inbox
queue, so no call races `step()`), cancels them, calls `step()` while any is active (one
step advances every active request: concurrent streams are batched, not queued), reads
each GenerationHandle and puts its new token ids on that request's own queue:

    ("ids", [int, ...])*  then  ("done", "stop" | "length" | "cancelled")  or  ("error", exc)

Cancel: the consumer sets its cancel event (or `release()`s the request); the driver sees it
before the next step and cancels the handle, so a stream stops within a step. A failing
`step()` fails every active request at once; a dead driver fails every later submit too.
`step()` holds the GIL (openvino-genai 2026.4's binding; measured: a Python thread gets no
turn during a step), so consumers decode text and the gRPC threads run between steps.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from ..errors import EngineDeadError

log = logging.getLogger(__name__)

_CLOSE = object()


@dataclass(eq=False)
class GenaiRequest:
    request_id: int
    prompt_ids: list[int]
    config: Any  # openvino_genai.GenerationConfig
    cancel_event: threading.Event
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    released: threading.Event = field(default_factory=threading.Event)
    handle: Any = None
    finish_reason: str | None = None
    steps: int = 0  # steps that yielded tokens (drafting: several tokens per step)

    def release(self) -> None:
        """The consumer is gone or has what it needs: stop generating for it."""
        self.released.set()

    def should_stop(self) -> bool:
        return self.cancel_event.is_set() or self.released.is_set()


class ContinuousBatchingEngine:
    def __init__(self, pipe: Any):
        self._pipe = pipe
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._active: list[GenaiRequest] = []
        self._ids = itertools.count()
        self._dead: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="genai-driver", daemon=True)
        self._thread.start()

    @property
    def active_count(self) -> int:
        return len(self._active)

    def submit(self, prompt_ids: list[int], config: Any, cancel_event: threading.Event) -> GenaiRequest:
        request = GenaiRequest(next(self._ids), list(prompt_ids), config, cancel_event)
        if self._dead is not None:
            request.events.put(("error", EngineDeadError(f"the generation thread died: {self._dead!r}")))
        else:
            self._inbox.put(request)
        return request

    def close(self, timeout: float = 10.0) -> None:
        self._inbox.put(_CLOSE)
        self._thread.join(timeout)

    # -- driver thread ---------------------------------------------------------------
    def _run(self) -> None:
        try:
            while self._admit(block=not self._active):
                self._cancel_stopped()
                if not self._active:
                    continue
                try:
                    self._pipe.step()
                except Exception as exc:  # every waiting consumer hears it now
                    log.error("continuous batching step failed: %r", exc)
                    self._fail_active(exc)
                    continue
                self._collect()
        except BaseException as exc:
            self._dead = exc
            log.exception("the genai driver thread died")
            self._fail_active(exc)
        finally:
            if self._dead is None:
                self._dead = EngineDeadError("the generation engine is closed")
            self._drain_inbox()

    def _admit(self, block: bool) -> bool:
        """Add waiting requests to the pipeline; False once closed."""
        while True:
            try:
                request = self._inbox.get(block=block)
            except queue.Empty:
                return True
            block = False
            if request is _CLOSE:
                for r in self._active:
                    self._end(r, "cancelled", cancel=True)
                self._active.clear()
                self._release_cancelled()
                return False
            if request.should_stop():
                request.events.put(("done", "cancelled"))
                continue
            try:
                request.handle = self._pipe.add_request(request.request_id, ids_tensor(request.prompt_ids), request.config)
            except Exception as exc:  # this request only (e.g. a prompt longer than the KV cache)
                request.events.put(("error", exc))
                continue
            self._active.append(request)

    def _release_cancelled(self, max_steps: int = 4) -> None:
        """Let the pipeline free the KV blocks of cancelled requests (it does so in step())."""
        try:
            for _ in range(max_steps):
                if not self._pipe.has_non_finished_requests():
                    return
                self._pipe.step()
        except Exception:  # closing anyway
            pass

    def _cancel_stopped(self) -> None:
        stopped = [r for r in self._active if r.should_stop()]
        for r in stopped:
            self._end(r, "cancelled", cancel=True)
        if stopped:
            self._active = [r for r in self._active if r.finish_reason is None]

    def _collect(self) -> None:
        import openvino_genai as ov_genai

        still = []
        for r in self._active:
            handle = r.handle
            reason = None
            while handle.can_read():
                outputs = handle.read().values()
                r.steps += any(out.generated_ids for out in outputs)
                for out in outputs:
                    if out.generated_ids:
                        r.events.put(("ids", list(out.generated_ids)))
                    if out.finish_reason == ov_genai.GenerationFinishReason.LENGTH:
                        reason = "length"
                    elif out.finish_reason == ov_genai.GenerationFinishReason.STOP:
                        reason = "stop"
            status = handle.get_status()
            if status == ov_genai.GenerationStatus.RUNNING:
                still.append(r)
            elif status == ov_genai.GenerationStatus.FINISHED:
                self._end(r, reason or "stop")
            elif status == ov_genai.GenerationStatus.IGNORED:
                self._fail(r, MemoryError("the KV cache has no room for this request (it was ignored)"))
            else:  # CANCEL / STOP from elsewhere
                self._end(r, "cancelled")
        self._active = still

    def _end(self, r: GenaiRequest, reason: str, cancel: bool = False) -> None:
        if cancel and r.handle is not None:
            try:
                r.handle.cancel()
            except Exception:  # already finished: nothing to cancel
                pass
        r.finish_reason = reason
        r.handle = None  # dropping the handle lets the pipeline free the request's blocks
        r.events.put(("done", reason))

    def _fail(self, r: GenaiRequest, exc: BaseException) -> None:
        if r.handle is not None:
            try:
                r.handle.cancel()
            except Exception:
                pass
        r.finish_reason, r.handle = "error", None
        r.events.put(("error", exc))

    def _fail_active(self, exc: BaseException) -> None:
        for r in self._active:
            self._fail(r, exc)
        self._active = []

    def _drain_inbox(self) -> None:
        while True:
            try:
                request = self._inbox.get_nowait()
            except queue.Empty:
                return
            if request is not _CLOSE:
                request.events.put(("error", EngineDeadError("the generation engine is closed")))


def ids_tensor(ids: list[int]):
    import numpy as np
    import openvino as ov

    return ov.Tensor(np.array([ids], dtype=np.int64))
