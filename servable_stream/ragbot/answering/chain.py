"""The retrieval-QA flow of one request: search query -> retrieve -> fit the prompt ->
generate -> end (sources marked cited; with `renumber_citations`, cited ones first and the
text's [n] following them: citations.py).

Plain functions rather than LCEL: the flow was three RunnableLambdas passing an untyped
dict, and LCEL added nothing to it (streaming is a generator, end to end). LangChain
keeps the parts where it earns its place: documents and splitters.

`AnswerChain.stream(request, run)` yields `str` text chunks, then one `AnswerEnd`.
"""
from __future__ import annotations

import logging
import time
from typing import Iterator, Union

from ..backends.contract import Backend, GenerationOptions
from ..knowledge.index import IndexHolder
from ..knowledge.retrieval import RetrievalPolicy, retrieve
from ..run import GenerationStats, RunContext
from ..settings import Settings
from .budget import fit_prompt
from .citations import CitationRenumbering, CitationRepair, attribute, check_citations
from .end import AnswerEnd, KnowledgeBaseInfo, SourceInfo
from .figures import FigureCheck
from .followup import is_follow_up, search_query
from .prompt import NOT_COVERED, REFUSAL, PromptStyle, is_refusal, passage_text, render
from .request import ChatRequest

log = logging.getLogger(__name__)

Event = Union[str, AnswerEnd]
REWRITE_MAX_TOKENS = 48


def _knowledge_base(index) -> KnowledgeBaseInfo:
    """The index that answered: its size and, from a shared store, its published version."""
    return KnowledgeBaseInfo(index.document_count, index.chunk_count,
                             getattr(index.version, "id", None))


class AnswerChain:
    def __init__(self, holder: IndexHolder, backend: Backend, settings: Settings):
        self.holder = holder
        self.backend = backend
        self.settings = settings
        self.policy = RetrievalPolicy(top_k=settings.top_k, min_score=settings.min_score,
                                      mode=settings.retrieval_mode, max_documents=settings.max_documents,
                                      named_documents=settings.named_documents)
        self.style = PromptStyle(identity=settings.preset.system_prompt, examples=settings.prompt_examples,
                                 wording=settings.prompt, reflow=settings.passage_reflow)

    def stream(self, request: ChatRequest, run: RunContext) -> Iterator[Event]:
        settings = self.settings
        index = self.holder.current  # one reference for the whole request
        closed_book = not request.retrieval
        hits = []
        if not closed_book:
            hits = self._retrieve(index, request, run)
            if not hits and index.chunk_count:
                yield from self._not_covered(index, run)
                return
        fitted = fit_prompt(
            request.question,
            request.history,
            hits,
            # MAX_NEW_TOKENS is the default; the context window bounds any request
            request.max_new_tokens or settings.max_new_tokens,
            settings.preset.context_window,
            render=self._render,
            count_tokens=self.backend.count_tokens,
            closed_book=closed_book,
            style=self.style,
        )
        options = GenerationOptions(max_new_tokens=fitted.max_new_tokens, temperature=request.temperature,
                                    ignore_eos=request.ignore_eos, loop_guard=request.loop_guard)
        renumbering = CitationRenumbering(len(fitted.hits)) if request.renumber_citations else None
        passages = [passage_text(hit[0], self.style.reflow) for hit in fitted.hits]
        repair = CitationRepair(passages)
        figures = (FigureCheck([*passages, request.question, *(text for _, text in request.history)])
                   if settings.figure_check and fitted.hits else None)

        def onward(piece: str) -> str:
            """The model's text as sent: citations re-pointed, then renumbered."""
            piece = repair.feed(piece)
            return renumbering.feed(piece) if renumbering else piece

        raw = []
        generation = self.backend.generate(fitted.prompt, options, run)
        try:
            for piece in generation:
                raw.append(piece)
                piece = figures.feed(piece) if figures else piece
                if figures and figures.withheld:
                    break  # the refusal replaces the answer: the model need not go on
                piece = onward(piece)
                if piece:
                    run.sent.append(piece)
                    yield piece
        finally:
            close = getattr(generation, "close", None)  # the contract asks an iterator only
            if close is not None:
                close()  # a generator backend releases the request (and stops it if it runs)
        if figures:
            held = REFUSAL if figures.withheld else onward(figures.flush())
            if figures.withheld:
                log.info("request %s: answer withheld, it states %s, which no passage holds",
                         run.request_id, ", ".join(figures.withheld))
                run.stats.finish_reason = "stop"
            if held:
                run.sent.append(held)
                yield held
        if repair.repaired:
            log.debug("request %s: citations re-pointed to the passage holding the claim %s",
                      run.request_id, repair.repaired)
        withheld = figures.withheld if figures else ()
        attributed = None if withheld else self._attribution("".join(raw), passages, run)
        tail = "" if withheld else repair.flush() + (f" [{attributed}]" if attributed else "")
        tail = (renumbering.feed(tail) + renumbering.flush()) if renumbering else tail
        if tail:
            run.sent.append(tail)
            yield tail
        answer = run.answer_text
        # the [n] of the answer as sent name the passages in the order they are sent
        order = renumbering.order() if renumbering else range(1, len(fitted.hits) + 1)
        citations = check_citations(answer, [passages[rank - 1] for rank in order])
        if attributed:
            attributed = list(order).index(attributed) + 1  # its number as sent
        yield AnswerEnd(
            sources=tuple(SourceInfo.from_hit(fitted.hits[rank - 1], cited=n in citations.cited, rank=rank)
                          for n, rank in enumerate(order, start=1)),
            usage=run.stats.usage,
            finish_reason=run.stats.finish_reason,
            knowledge_base=_knowledge_base(index),
            answer=answer,
            invalid_citations=citations.invalid,
            unsupported_citations=citations.unsupported,
            attributed_citations=(attributed,) if attributed else (),
            withheld_figures=withheld,
        )

    def _attribution(self, answer: str, passages: list[str], run: RunContext) -> int | None:
        """The passage to cite for an answer that cites none (ATTRIBUTE_CITATIONS): it was
        given passages, it ended normally, and it does not say the documents lack the answer."""
        if (not self.settings.attribute_citations or not passages or is_refusal(answer)
                or run.stats.finish_reason not in ("stop", "length")):
            return None
        found = check_citations(answer, len(passages))
        return None if found.cited or found.invalid else attribute(answer, passages)

    def _retrieve(self, index, request: ChatRequest, run: RunContext) -> list:
        """The passages; a follow-up ("When was it built?") is searched with the history when
        it refers back, or when the question alone finds nothing convincing."""
        hits = retrieve(index, request.question, self.policy)
        weak = not hits or hits[0].score < self.settings.followup_min_score
        if not request.history or not (weak or is_follow_up(request.question, request.history)):
            return hits
        started = time.monotonic()
        query = search_query(request.question, request.history, self.settings.query_rewrite,
                             rewrite=lambda messages: self._rewrite(messages, run), force=True)
        if query == request.question:
            return hits
        rewritten = retrieve(index, query, self.policy, question=request.question)
        run.rewrite_seconds = time.monotonic() - started
        if weak and not is_follow_up(request.question, request.history) and hits and (
                not rewritten or rewritten[0].score <= hits[0].score):
            return hits  # the history did not help a question that stands on its own
        return rewritten

    def _not_covered(self, index, run: RunContext) -> Iterator[Event]:
        """No passage passed the relevance cut-off: say so, without asking the model (a small
        model given nothing makes something up)."""
        run.stats.finish_reason = "stop"
        run.sent.append(NOT_COVERED)
        yield NOT_COVERED
        yield AnswerEnd(usage=run.stats.usage, finish_reason="stop", answer=NOT_COVERED,
                        knowledge_base=_knowledge_base(index))

    def _render(self, messages: list[dict[str, str]]) -> str:
        return render(messages, self.settings.preset.prompt_style, self.backend.tokenizer)

    def _rewrite(self, messages: list[dict[str, str]], run: RunContext) -> str:
        """QUERY_REWRITE=llm: the model's standalone question (its tokens are not the answer's)."""
        side = RunContext(run.request_id, cancel_event=run.cancel_event, stats=GenerationStats())
        options = GenerationOptions(max_new_tokens=REWRITE_MAX_TOKENS)
        return "".join(self.backend.generate(self._render(messages), options, side))
