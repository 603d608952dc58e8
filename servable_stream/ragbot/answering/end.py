"""The end of an answer, typed: what the servable sends as `end_signal` (its `to_wire()`).

    {"sources": [{"source", "title", "score", "excerpt", "page"?}], "usage":
     {"prompt_tokens", "completion_tokens"}, "finish_reason", "answer", "knowledge_base"?:
     {"documents", "chunks"}, "note"?, "error"?: {"code", "message"}}

Sources are the passages the model actually saw (the budget may drop low-ranked ones), in
rank order; "note" says when no documents are indexed; "answer" is the whole text (a unary
client of OVMS gets only the first chunk); "error" (with finish_reason "error") says why an
answer failed, in-band.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from langchain_core.documents import Document

EXCERPT_CHARS = 200


@dataclass(frozen=True)
class SourceInfo:
    """One passage the model saw: its document, title, score, an excerpt, a PDF page."""

    source: str
    title: str
    score: float
    excerpt: str
    page: int | None = None

    @classmethod
    def from_hit(cls, doc: Document, score: float) -> "SourceInfo":
        return cls(
            source=doc.metadata.get("source", ""),
            title=doc.metadata.get("title", ""),
            score=round(float(score), 4),
            excerpt=excerpt(doc.page_content),
            page=doc.metadata.get("page"),
        )

    def to_wire(self) -> dict:
        info = {"source": self.source, "title": self.title, "score": self.score, "excerpt": self.excerpt}
        if self.page is not None:
            info["page"] = self.page
        return info


@dataclass(frozen=True)
class KnowledgeBaseInfo:
    """How big the knowledge base was that answered."""

    documents: int
    chunks: int


@dataclass(frozen=True)
class AnswerEnd:
    """How an answer ended: its sources, usage, finish reason, text, and error if any."""

    sources: tuple[SourceInfo, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    knowledge_base: KnowledgeBaseInfo | None = None
    answer: str = ""
    error: dict | None = None  # errors.wire_error(): {"code", "message"}

    def to_wire(self) -> dict:
        wire = {
            "sources": [s.to_wire() for s in self.sources],
            "usage": dict(self.usage),
            "finish_reason": self.finish_reason,
            "answer": self.answer,
        }
        if self.error is not None:
            wire["error"] = dict(self.error)
        if self.knowledge_base is not None:
            wire["knowledge_base"] = {"documents": self.knowledge_base.documents,
                                      "chunks": self.knowledge_base.chunks}
            if not self.knowledge_base.chunks:
                wire["note"] = "no documents indexed"
        return wire


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"
