"""The retrieval-QA flow as LCEL runnables: retrieve -> prompt -> llm stream.

Built once at startup. Everything about one request travels in the input dict:
{"question", "history", "max_new_tokens", "temperature", "cancel_event", "stats"}.
The stream yields `str` text chunks, then one `dict` end info:
{"sources": [...], "usage": {...}, "finish_reason": ...}.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from langchain_core.documents import Document
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from .index import IndexHolder
from .llm import GenerationStats
from .prompt import build_messages, render

EXCERPT_CHARS = 200


def build_rag_chain(
    holder: IndexHolder, llm: Runnable, top_k: int, prompt_style: str, tokenizer: Any = None
) -> Runnable:
    def retrieve(inputs: dict) -> list[tuple[Document, float]]:
        index = holder.current  # one reference for the whole request
        return index.search(inputs["question"], k=top_k)

    def format_prompt(inputs: dict) -> str:
        messages = build_messages(inputs["question"], inputs.get("history") or [], inputs["hits"])
        return render(messages, prompt_style, tokenizer)

    def generate(inputs: dict) -> Iterator[Any]:
        stats: GenerationStats = inputs.get("stats") or GenerationStats()
        options = {
            "max_new_tokens": inputs.get("max_new_tokens"),
            "temperature": inputs.get("temperature"),
            "cancel_event": inputs.get("cancel_event"),
            "stats": stats,
        }
        yield from llm.stream(inputs["prompt"], **options)
        yield {
            "sources": [source_info(doc, score) for doc, score in inputs["hits"]],
            "usage": stats.usage,
            "finish_reason": stats.finish_reason,
        }

    return (
        RunnablePassthrough.assign(hits=RunnableLambda(retrieve, name="retrieve"))
        | RunnablePassthrough.assign(prompt=RunnableLambda(format_prompt, name="format_prompt"))
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
