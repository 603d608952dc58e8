"""The retrieval-QA flow of one request: retrieve -> fit the prompt -> generate -> end.

Plain functions rather than LCEL: the flow was three RunnableLambdas passing an untyped
dict, and LCEL added nothing to it (streaming is a generator, end to end). LangChain
keeps the parts where it earns its place: documents, splitters and the FAISS store.

`AnswerChain.stream(request, run)` yields `str` text chunks, then one `AnswerEnd`.
"""
from __future__ import annotations

from typing import Iterator, Union

from ..backends.contract import Backend, GenerationOptions
from ..knowledge.index import IndexHolder
from ..run import RunContext
from .budget import fit_prompt
from .end import AnswerEnd, KnowledgeBaseInfo, SourceInfo
from .prompt import render
from .request import ChatRequest

Event = Union[str, AnswerEnd]


class AnswerChain:
    def __init__(self, holder: IndexHolder, backend: Backend, *, top_k: int, prompt_style: str,
                 context_window: int, default_max_new_tokens: int):
        self.holder = holder
        self.backend = backend
        self.top_k = top_k
        self.prompt_style = prompt_style
        self.context_window = context_window
        self.default_max_new_tokens = default_max_new_tokens

    def stream(self, request: ChatRequest, run: RunContext) -> Iterator[Event]:
        index = self.holder.current  # one reference for the whole request
        closed_book = not request.retrieval
        hits = [] if closed_book else index.search(request.question, k=self.top_k)
        fitted = fit_prompt(
            request.question,
            request.history,
            hits,
            # MAX_NEW_TOKENS is the default; the context window bounds any request
            request.max_new_tokens or self.default_max_new_tokens,
            self.context_window,
            render=lambda messages: render(messages, self.prompt_style, self.backend.tokenizer),
            count_tokens=self.backend.count_tokens,
            closed_book=closed_book,
        )
        options = GenerationOptions(max_new_tokens=fitted.max_new_tokens, temperature=request.temperature,
                                    ignore_eos=request.ignore_eos)
        yield from self.backend.generate(fitted.prompt, options, run)
        yield AnswerEnd(
            sources=tuple(SourceInfo.from_hit(doc, score) for doc, score in fitted.hits),
            usage=run.stats.usage,
            finish_reason=run.stats.finish_reason,
            knowledge_base=KnowledgeBaseInfo(index.document_count, index.chunk_count),
        )
