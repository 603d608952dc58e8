"""The seam between the knowledge room and where its chunks are kept (KNOWLEDGE_STORE).

Two stores implement it, so retrieval, freshness and status never ask which one holds the
chunks:

    local     this replica's own index: it fetches, embeds and persists docs.txt itself
              (INDEX_DIR files), as one machine always did (local_store.py)
    postgres  one knowledge base for every replica: the replica holding an advisory lock
              ingests and publishes versions; every replica loads the published version into
              memory and follows it (postgres/)

Two contracts:
- `RecordStore` is what the one indexing path (ingest.Indexer) reads and writes: the records
  of the last saved version, content already embedded (by its sha256: nothing is embedded
  twice), a just-embedded document kept at once, and the new version saved (published).
- `KnowledgeStore` is what the service holds: `start()` returns once an index answers,
  `holder.current` is that index, `status()` says where it came from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from langchain_core.documents import Document

from .times import utc_iso

if TYPE_CHECKING:
    from .index import IndexHolder
    from .index_store import DocRecord, IndexKey
    from .rebuild import RebuildProgress, RebuildReport


@dataclass(frozen=True)
class PublishedVersion:
    """One published version of a shared knowledge base: what answers, who wrote it, when."""

    id: int
    writer: str  # the replica that published it (KNOWLEDGE_REPLICA)
    published_at: float  # epoch seconds
    documents: int
    chunks: int
    instance: str = ""  # the publishing process's store instance (its own versions it swaps itself)

    def to_json(self) -> dict:
        return {"id": self.id, "writer": self.writer, "published": utc_iso(self.published_at),
                "documents": self.documents, "chunks": self.chunks}


@dataclass
class StoredContent:
    """A document's content as embedded before (found by its sha256): chunks without a
    "source" (the entry that lists it now gives it), vectors and BM25 terms, same order."""

    chunks: list[Document]
    vectors: np.ndarray
    terms: list[list[str]]

    def chunks_for(self, source: str) -> list[Document]:
        """The chunks as the entry `source` lists them (metadata "source" first)."""
        return [c if c.metadata.get("source") == source else Document(
                    page_content=c.page_content,
                    metadata={"source": source, **{k: v for k, v in c.metadata.items() if k != "source"}})
                for c in self.chunks]


class RecordStore(Protocol):
    """Where the Indexer's records live between rebuilds."""

    def load(self, key: "IndexKey") -> dict[str, "DocRecord"]:
        """The records of the last saved version by entry ({} when none is usable)."""

    def reusable(self, key: "IndexKey", sha256: str) -> StoredContent | None:
        """Content with this sha256 already embedded under `key`, or None."""

    def keep(self, key: "IndexKey", record: "DocRecord") -> None:
        """A document just embedded: keep it now, so a rebuild that dies later loses nothing."""

    def save(self, key: "IndexKey", records: list["DocRecord"],
             report: "RebuildReport") -> PublishedVersion | None:
        """The new version (records in docs.txt order); what was published, if anything."""


class KnowledgeStore(Protocol):
    """What the service holds: the index that answers, kept fresh, and where it came from."""

    holder: "IndexHolder"
    listeners: list  # callables given every RebuildReport made here (metrics)

    def start(self) -> "KnowledgeStore":
        """Return once an index answers (the first one built, or a published one read)."""

    def status_parts(self) -> tuple["RebuildReport | None", "RebuildProgress | None", float | None]:
        """(last rebuild report, progress of a rebuild running here, seconds to the next refresh)."""

    def describe(self) -> dict:
        """The status JSON's "store": kind, this replica's role, the version it answers from."""

    def close(self) -> None:
        """Stop watching, following and writing."""
