"""The end of an answer, typed: what the servable sends as `end_signal` (its `to_wire()`).

    {"sources": [{"source", "title", "section"?, "page"?, "score", "excerpt", "cited", "rank"}], "usage":
     {"prompt_tokens", "completion_tokens"}, "finish_reason", "answer", "knowledge_base"?:
     {"documents", "chunks", "version"?}, "note"?, "error"?: {"code", "message"}, "invalid_citations"?,
     "unsupported_citations"?, "attributed_citations"?}

Sources are the passages the model actually saw (the budget may drop low-ranked ones), in
rank order (or, for a request with `renumber_citations`, cited ones first in the order the
answer cites them), each with its retrieval `rank` and marked "cited" when the answer cites
its [n]; "invalid_citations" lists numbers that name no passage, "unsupported_citations"
cited passages that lack a number or name of the text citing them, "attributed_citations" the
citation the servable appended to an answer that cited nothing; "note" says when no
documents are indexed; "answer" is the whole text (a unary
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
    section: str = ""  # heading path inside the document ("Care > Descaling")
    cited: bool = False  # the answer cites this passage's number
    rank: int = 0  # 1-based place among the passages by retrieval rank (0: not known)

    @classmethod
    def from_hit(cls, hit, cited: bool = False, rank: int = 0) -> "SourceInfo":
        doc: Document = hit[0]
        return cls(
            source=doc.metadata.get("source", ""),
            title=doc.metadata.get("title", ""),
            score=round(float(hit[1]), 4),
            excerpt=excerpt(doc.page_content),
            page=doc.metadata.get("page"),
            section=doc.metadata.get("section", ""),
            cited=cited,
            rank=rank,
        )

    def to_wire(self) -> dict:
        info = {"source": self.source, "title": self.title, "score": self.score, "excerpt": self.excerpt,
                "cited": self.cited}
        if self.rank:
            info["rank"] = self.rank
        if self.section:
            info["section"] = self.section
        if self.page is not None:
            info["page"] = self.page
        return info


@dataclass(frozen=True)
class KnowledgeBaseInfo:
    """How big the knowledge base was that answered."""

    documents: int
    chunks: int
    version: int | None = None  # the published version that answered (KNOWLEDGE_STORE=postgres)


@dataclass(frozen=True)
class AnswerEnd:
    """How an answer ended: its sources, usage, finish reason, text, and error if any."""

    sources: tuple[SourceInfo, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)
    finish_reason: str | None = None
    knowledge_base: KnowledgeBaseInfo | None = None
    answer: str = ""
    error: dict | None = None  # errors.wire_error(): {"code", "message"}
    invalid_citations: tuple[int, ...] = ()  # [n] in the answer that name no passage
    # [n] whose passage lacks a number or name of the text citing it (citations.py)
    unsupported_citations: tuple[int, ...] = ()
    # [n] the servable appended to an answer that cited nothing (citations.attribute)
    attributed_citations: tuple[int, ...] = ()
    # figures of an answer's first sentence that no passage held: it became the refusal (figures.py)
    withheld_figures: tuple[str, ...] = ()

    def to_wire(self) -> dict:
        wire = {
            "sources": [s.to_wire() for s in self.sources],
            "usage": dict(self.usage),
            "finish_reason": self.finish_reason,
            "answer": self.answer,
        }
        if self.error is not None:
            wire["error"] = dict(self.error)
        if self.invalid_citations:
            wire["invalid_citations"] = list(self.invalid_citations)
        if self.unsupported_citations:
            wire["unsupported_citations"] = list(self.unsupported_citations)
        if self.attributed_citations:
            wire["attributed_citations"] = list(self.attributed_citations)
        if self.withheld_figures:
            wire["withheld_figures"] = list(self.withheld_figures)
        if self.knowledge_base is not None:
            wire["knowledge_base"] = {"documents": self.knowledge_base.documents,
                                      "chunks": self.knowledge_base.chunks}
            if self.knowledge_base.version is not None:
                wire["knowledge_base"]["version"] = self.knowledge_base.version
            if not self.knowledge_base.chunks:
                wire["note"] = "no documents indexed"
        return wire


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit].rstrip() + "…"
