"""RagService: load everything once, then answer requests as streams of text.

Ready only once the embeddings, the LLM backend and the first index exist (built here, or
with KNOWLEDGE_STORE=postgres read from the published version). One service
is shared by every stream; each request gets its own RunContext (id, cancel, stats).

    service = RagService.start(settings)
    request = service.request_from_wire(raw, datatype, shape)   # InvalidRequestError
    answer = service.answer(request)                            # OverloadedError, ServiceClosedError
    for chunk in answer: ...                                    # str
    answer.end.to_wire()                                        # the end_signal JSON

respond.py wraps this for the node: errors become an in-band end_signal.
"""
from __future__ import annotations

import logging
import time
import uuid
from typing import Callable, Iterator

from .. import heap, metrics, ops_port
from ..acquisition.online import embedding_folder
from ..backends.contract import Backend
from ..backends.loading import load_backend
from ..errors import InvalidRequestError, OverloadedError, ServiceClosedError
from ..knowledge.embeddings import load_embeddings
from ..knowledge.status import knowledge_status
from ..knowledge.open_store import open_store
from ..knowledge.store import KnowledgeStore
from ..run import RunContext
from ..settings import Settings
from .admission import Admission
from .chain import AnswerChain
from .end import AnswerEnd
from .outcomes import RequestRecord, refused
from .request import ChatRequest, parse_input

log = logging.getLogger(__name__)

INPUT = "pre_prompt"


class Answer:
    """Iterator of text chunks; `end` (AnswerEnd) once exhausted; `cancel()` at any time."""

    def __init__(self, events: Iterator, run: RunContext, on_close: Callable[[], None] | None = None):
        self._events = events
        self.run = run
        self._end: AnswerEnd | None = None
        self._on_close = on_close  # frees the request's resources even if never iterated

    def __iter__(self) -> "Answer":
        return self

    def __next__(self) -> str:
        for event in self._events:
            if isinstance(event, AnswerEnd):
                self._end = event
                continue
            return event
        raise StopIteration

    @property
    def end(self) -> AnswerEnd:
        """How the answer ended; only after the iteration ended."""
        if self._end is None:
            raise RuntimeError("the end of an answer is known once it is exhausted")
        return self._end

    def cancel(self) -> None:
        """Stop generating within a token step or two; finish_reason becomes "cancelled"."""
        self.run.cancel()

    def close(self) -> None:
        """Release the stream early (also cancels the generation)."""
        self.run.cancel()
        close = getattr(self._events, "close", None)
        if close:
            close()
        if self._on_close is not None:
            self._on_close()


def _record_index(index) -> None:
    report = index.report
    version = getattr(index.version, "id", None)
    metrics.record_index(index.chunk_count, len(report.stale) if report is not None else 0, version)


class RagService:
    """The servable's one service: models, the watched index, admission; answers requests."""

    def __init__(self, settings: Settings, embeddings, backend: Backend, knowledge: KnowledgeStore):
        self.settings = settings
        self.embeddings = embeddings
        self.backend = backend
        self.knowledge = knowledge
        self.holder = knowledge.holder
        self.holder.listeners.append(_record_index)
        knowledge.listeners.append(
            lambda r: metrics.record_rebuild(r.ok, r.seconds, r.embedded_chunks))
        knowledge.listeners.append(lambda r: heap.trim())  # what the rebuild freed (heap.py)
        self._chain = AnswerChain(self.holder, backend, settings)
        self._admission = Admission(settings.max_concurrent_streams, settings.max_queued_requests,
                                    on_idle=heap.trim)
        self._closed = False

    @classmethod
    def start(cls, settings: Settings, *, embeddings=None, backend: Backend | None = None) -> "RagService":
        """Load models (unless given), then the knowledge store: the first index answers."""
        started = time.monotonic()
        ops_port.serve(settings.metrics_port)
        # the LLM first: its load peaks at its weights twice (the file's pages and the plugin's
        # repacked copy, until the warm-up is done and the pages are given back); the
        # embeddings model loading after that peak keeps it off it (docs/backends.md)
        backend = backend or load_backend(settings)
        embeddings = embeddings or load_embeddings(embedding_folder(settings), settings.embedding_model,
                                                   settings.embedding_precision)
        knowledge = open_store(settings, embeddings)
        service = cls(settings, embeddings, backend, knowledge)
        try:
            knowledge.start()
        except BaseException:
            knowledge.close()
            backend.close()
            raise
        ops_port.publish_status(service.status)
        heap.trim()  # what loading the models freed
        log.info("RAG service ready in %.1f s", time.monotonic() - started)
        return service

    def status(self) -> dict:
        """The knowledge base as JSON (knowledge/status.py): documents, states, last rebuild,
        and the store the index came from."""
        last_report, progress, next_refresh_in = self.knowledge.status_parts()
        return knowledge_status(
            self.holder.current, last_report, progress,
            refresh_seconds=self.settings.docs_refresh_seconds, next_refresh_in=next_refresh_in,
            store=self.knowledge.describe())

    def request_from_wire(self, buf: bytes | None, datatype: str | None = None, shape=None) -> ChatRequest:
        """The `pre_prompt` tensor's bytes (None: the input is missing) as a ChatRequest."""
        try:
            if buf is None:
                raise InvalidRequestError(f"the request has no {INPUT} input")
            return parse_input(buf, datatype, shape, max_bytes=self.settings.max_prompt_bytes)
        except InvalidRequestError as exc:
            refused(uuid.uuid4().hex[:12], "invalid", exc)
            raise

    def answer(self, request: ChatRequest) -> Answer:
        """Wait for a generation slot (OverloadedError when the queue is full too; a
        background request also for the interactive ones to start: admission.py), then stream."""
        run = RunContext.new()  # arrival time: TTFT includes any wait in the queue
        if self._closed:
            exc = ServiceClosedError("the server is shutting down or reloading (the RAG service was "
                                     "finalized); retry in a moment")
            refused(run.request_id, "rejected", exc)
            raise exc
        try:
            slot = self._admission.admit(background=request.background)
        except OverloadedError as exc:
            refused(run.request_id, "rejected", exc)
            raise
        record = RequestRecord(run, on_finish=slot.release, on_first_chunk=slot.first_token)
        events = record.track(self._chain.stream(request, run))
        return Answer(events, run, on_close=lambda: record.finish("cancelled"))

    def close(self) -> None:
        self._closed = True  # answers already streaming finish; new ones are refused in-band
        ops_port.withdraw_status(self.status)
        self.knowledge.close()
        self.backend.close()
        log.info("RAG service closed (docs watcher stopped)")
