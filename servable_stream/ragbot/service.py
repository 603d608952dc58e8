"""RagService: load everything once, then answer requests as streams of text.

Ready only once the embeddings, the LLM and the first index exist. One service is
shared by every stream; each `answer` carries its own cancel event and stats.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, Callable, Iterator

from . import metrics
from .accounting import RequestRecord, track
from .admission import Admission
from .chain import build_rag_chain
from .errors import OverloadedError, ServiceClosedError
from .embeddings import load_embeddings
from .index import IndexHolder, KnowledgeIndex, build_index_from_docs
from .ingest import Indexer
from .llm import GenerationStats, load_llm
from .online import embedding_folder
from .request import ChatRequest
from .settings import Settings
from .watcher import DocsWatcher

log = logging.getLogger(__name__)


class Answer:
    """Iterator of text chunks; `end_info()` once exhausted; `cancel()` at any time."""

    def __init__(self, events: Iterator[Any], cancel_event: threading.Event,
                 on_close: Callable[[], None] | None = None, stats: GenerationStats | None = None):
        self._events = events
        self._cancel_event = cancel_event
        self._stats = stats or GenerationStats()
        self._end_info: dict | None = None
        self._on_close = on_close  # frees the request's resources even if never iterated

    def __iter__(self) -> "Answer":
        return self

    def __next__(self) -> str:
        for event in self._events:
            if isinstance(event, dict):
                self._end_info = event
                continue
            return event
        raise StopIteration

    def end_info(self) -> dict:
        """{"sources", "usage", "finish_reason"}; only after the iteration ended."""
        if self._end_info is None:
            raise RuntimeError("end_info() is available once the answer is exhausted")
        return self._end_info

    @property
    def usage(self) -> dict:
        """Token usage so far (also after a failure, when there is no end_info)."""
        return self._stats.usage

    def cancel(self) -> None:
        """Stop generating within a token step or two; finish_reason becomes "cancelled"."""
        self._cancel_event.set()

    def close(self) -> None:
        """Release the stream early (also cancels the generation)."""
        self._cancel_event.set()
        close = getattr(self._events, "close", None)
        if close:
            close()
        if self._on_close is not None:
            self._on_close()


class RagService:
    def __init__(self, settings: Settings, embeddings, llm, holder: IndexHolder):
        self.settings = settings
        self.embeddings = embeddings
        self.llm = llm
        self.holder = holder
        self._chain = build_rag_chain(
            holder,
            llm,
            top_k=settings.top_k,
            prompt_style=settings.preset.prompt_style,
            context_window=settings.preset.context_window,
            count_tokens=llm.count_tokens,
            tokenizer=llm.tokenizer,
        )
        self._watcher: DocsWatcher | None = None
        self.indexer = Indexer.from_settings(settings, embeddings)  # listeners: RebuildReport
        self.indexer.listeners.append(lambda r: metrics.record_rebuild(r.ok, r.chunks, r.seconds))
        self._admission = Admission(settings.max_concurrent_streams, settings.max_queued_requests)
        self._closed = False

    @classmethod
    def start(cls, settings: Settings, *, embeddings=None, llm=None) -> "RagService":
        """Load models (unless given), build the first index, start the watcher."""
        started = time.monotonic()
        metrics.serve(settings.metrics_port)
        embeddings = embeddings or load_embeddings(embedding_folder(settings), settings.embedding_model)
        llm = llm or load_llm(settings)
        service = cls(settings, embeddings, llm, IndexHolder(_placeholder_index()))
        service.holder.swap(service.build_index())
        service._watcher = DocsWatcher(
            settings.docs_file, service.holder, service.build_index,
            debounce=settings.docs_debounce_seconds, fingerprint=service.indexer.current_fingerprint,
            initial_fingerprint=service.indexer.fingerprint,
        ).start()
        log.info("RAG service ready in %.1f s", time.monotonic() - started)
        return service

    def build_index(self) -> KnowledgeIndex:
        return self.indexer.rebuild()  # each RebuildReport reaches metrics via the listener

    def answer(self, request: ChatRequest) -> Answer:
        """Wait for a generation slot (OverloadedError when the queue is full too), then stream."""
        request_id = uuid.uuid4().hex[:12]
        if self._closed:
            metrics.record_request("rejected")
            raise ServiceClosedError("the server is shutting down or reloading (the RAG service was "
                                     "finalized); retry in a moment")
        arrived = time.monotonic()  # TTFT includes any wait in the queue
        try:
            slot = self._admission.admit()
        except OverloadedError as exc:
            metrics.record_request("rejected")
            log.info("request %s outcome=rejected reason=%s", request_id, exc)
            raise
        stats = GenerationStats()
        record = RequestRecord(request_id, stats, on_finish=slot.release, started=arrived)
        cancel_event = threading.Event()
        inputs = {
            "question": request.question,
            "history": list(request.history),
            # MAX_NEW_TOKENS is the default; the context window bounds any request (budget.py)
            "max_new_tokens": request.max_new_tokens or self.settings.max_new_tokens,
            "temperature": request.temperature,
            "cancel_event": cancel_event,
            "stats": stats,
        }
        events = track(self._chain.stream(inputs), record)
        return Answer(events, cancel_event, on_close=lambda: record.finish("cancelled"), stats=stats)

    def close(self) -> None:
        self._closed = True  # answers already streaming finish; new ones are refused in-band
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        log.info("RAG service closed (docs watcher stopped)")


def _placeholder_index() -> KnowledgeIndex:
    return KnowledgeIndex(store=None, chunk_count=0, document_count=0, build_seconds=0.0)
