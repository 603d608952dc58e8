"""Which passages reach the prompt: hybrid search, then a relevance cut-off and near-duplicate
removal, at most `top_k`.

A small model answers from whatever it is given, so passages that are only vaguely related
do harm: they crowd out the right one and invite made-up answers, and a look-alike
document (the H5 kettle's manual when the question is about the H3) is worse still, so
passages may be limited to the best `max_documents` documents. Passages whose cosine
similarity to the query is under `min_score` never reach the prompt; when none pass, the
answer is told the documents don't cover the question. A passage almost identical to a
better-ranked one (cosine above `max_similarity`) adds nothing and is dropped. A question
that names one of the documents ("the Brevik H5") gets passages of that one only, one that
names several gets theirs, taking turns (`named_documents`, naming.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from .index import MODES, Hit, KnowledgeIndex
from .naming import named_documents, titles_of


@dataclass(frozen=True)
class RetrievalPolicy:
    top_k: int  # TOP_K: at most this many passages
    min_score: float  # MIN_SCORE: cosine similarity a passage needs
    mode: str = "hybrid"  # RETRIEVAL_MODE: hybrid | dense | keyword
    max_documents: int = 0  # MAX_DOCUMENTS: passages from at most this many documents (0: any)
    # NAMED_DOCUMENTS: a question that names some of the passages' documents ("the Brevik H5")
    # gets passages of those only, the documents taking turns (naming.py)
    named_documents: bool = False
    max_similarity: float = 0.95  # near-duplicates above this are dropped
    candidates: int = 20  # per ranking, before fusion

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"retrieval mode must be one of {MODES}, not {self.mode!r}")


def retrieve(index: KnowledgeIndex, query: str, policy: RetrievalPolicy, question: str | None = None) -> list[Hit]:
    """The passages for `query`, best first (possibly none). `question`: the user's own words
    when `query` is a rewrite (a follow-up searched with its history); the documents it names
    are looked up in them."""
    # naming may back-fill from further down the ranking; without it top_k are all it needs
    ranked = _ranked(index, query, policy, limit=None if policy.named_documents else policy.top_k)
    shown = ranked[: policy.top_k]
    if policy.named_documents:
        named = named_documents(question or query, titles_of(hit.doc for hit in shown))
        if named:
            return _taking_turns(ranked, named, policy.top_k)
    return shown


def _taking_turns(ranked: list[Hit], named: set[str], top_k: int) -> list[Hit]:
    """The named documents' passages only, each document's best first and the documents
    taking turns (in the order of their best passage): a question about two things gets both."""
    queues: dict[str, list[Hit]] = {}
    for hit in ranked:
        source = hit.doc.metadata.get("source", "")
        if source in named:
            queues.setdefault(source, []).append(hit)
    out: list[Hit] = []
    while len(out) < top_k and any(queues.values()):
        for queue in queues.values():
            if queue and len(out) < top_k:
                out.append(queue.pop(0))
    return out


def _ranked(index: KnowledgeIndex, query: str, policy: RetrievalPolicy, limit: int | None) -> list[Hit]:
    """The candidates over the cut-off (at most `limit`), best first, near-duplicates and
    documents beyond `max_documents` left out."""
    kept: list[Hit] = []
    documents: list[str] = []
    for hit in index.search(query, k=policy.candidates, mode=policy.mode, candidates=policy.candidates):
        if hit.score < policy.min_score:
            continue
        if any(index.similarity(hit, other) > policy.max_similarity for other in kept):
            continue
        source = hit.doc.metadata.get("source", "")
        if source not in documents:
            if policy.max_documents and len(documents) == policy.max_documents:
                continue
            documents.append(source)
        kept.append(hit)
        if len(kept) == limit:
            break
    return kept
