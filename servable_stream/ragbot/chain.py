"""The retrieval-QA flow as LCEL runnables: retrieve -> fit prompt to the context window -> llm stream.

Built once at startup. Everything about one request travels in the input dict:
{"question", "history", "max_new_tokens", "temperature", "ignore_eos", "retrieval",
"cancel_event", "stats"}.
The stream yields `str` text chunks, then one `dict` end info:
{"sources": [...], "usage": {...}, "finish_reason": ..., "knowledge_base": {"documents",
"chunks"}, "note"?}; sources are the passages the model actually saw (the budget may drop
low-ranked ones), in rank order; "note" says when no documents are indexed.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda

from .index import IndexHolder
from .llm import GenerationStats
from .budget import FittedPrompt, fit_prompt
from .prompt import render

EXCERPT_CHARS = 200


def build_rag_chain(
    holder: IndexHolder,
    llm: Runnable,
    top_k: int,
    prompt_style: str,
    context_window: int,
    count_tokens: Callable[[str], int],
    tokenizer: Any = None,
) -> Runnable:
    def retrieve(inputs: dict) -> dict:
        index = holder.current  # one reference for the whole request
        closed_book = inputs.get("retrieval") is False
        return {
            **inputs,
            "hits": [] if closed_book else index.search(inputs["question"], k=top_k),
            "knowledge_base": {"documents": index.document_count, "chunks": index.chunk_count},
        }

    def format_prompt(inputs: dict) -> FittedPrompt:
        return fit_prompt(
            inputs["question"],
            inputs.get("history") or [],
            inputs["hits"],
            inputs["max_new_tokens"],
            context_window,
            render=lambda messages: render(messages, prompt_style, tokenizer),
            count_tokens=count_tokens,
            closed_book=inputs.get("retrieval") is False,
        )

    def generate(inputs: dict) -> Iterator[Any]:
        fitted: FittedPrompt = inputs["fitted"]
        stats: GenerationStats = inputs.get("stats") or GenerationStats()
        options = {
            "max_new_tokens": fitted.max_new_tokens,
            "temperature": inputs.get("temperature"),
            "ignore_eos": bool(inputs.get("ignore_eos")),
            "cancel_event": inputs.get("cancel_event"),
            "stats": stats,
        }
        yield from llm.stream(fitted.prompt, **options)
        end = {
            "sources": [source_info(doc, score) for doc, score in fitted.hits],
            "usage": stats.usage,
            "finish_reason": stats.finish_reason,
        }
        knowledge_base = inputs.get("knowledge_base")
        if knowledge_base is not None:
            end["knowledge_base"] = knowledge_base
            if not knowledge_base["chunks"]:
                end["note"] = "no documents indexed"
        yield end

    # plain lambdas adding one key each: RunnablePassthrough.assign would start a thread
    # pool per request when streaming, tens of ms before the first token
    return (
        RunnableLambda(retrieve, name="retrieve")
        | RunnableLambda(lambda inputs: {**inputs, "fitted": format_prompt(inputs)}, name="fit_prompt")
        | RunnableLambda(generate, name="generate")
    )


def source_info(doc: Document, score: float) -> dict:
    info = {
        "source": doc.metadata.get("source", ""),
        "title": doc.metadata.get("title", ""),
        "score": round(float(score), 4),
        "excerpt": excerpt(doc.page_content),
    }
    if doc.metadata.get("page") is not None:
        info["page"] = doc.metadata["page"]
    return info


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"
