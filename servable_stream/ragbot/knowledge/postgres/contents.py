"""A document's chunks, stored once per content (sha256 of its bytes) and index key.

`put` writes one document's chunks in one transaction as soon as they are embedded; `read`
finds contents again by hash (the writer before embedding anything, a reader loading a
version). Vectors travel in pgvector's binary format: float32, as embedded.
"""
from __future__ import annotations

import json
import sys

import numpy as np
from langchain_core.documents import Document

from ..index_store import DocRecord
from ..store import StoredContent

COLUMNS = ("seq", "text", "title", "section", "page", "metadata", "terms", "embedding")
_NAMED = ("source", "title", "section", "page")  # metadata with a column of its own (or none)


def put(conn, key: str, record: DocRecord, embedded_by: str) -> None:
    """Store `record`'s content (its chunks, vectors and terms) unless it is there already."""
    with conn.transaction():
        cur = conn.execute(
            "INSERT INTO ragbot_contents (index_key, sha256, chunk_count, embedded_by) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (key, record.sha256, len(record.chunks), embedded_by))
        if cur.rowcount == 0:
            return
        with conn.cursor().copy(
                "COPY ragbot_chunks (index_key, sha256, seq, text, title, section, page, metadata, "
                "terms, embedding) FROM STDIN") as copy:
            for seq, (chunk, vector, terms) in enumerate(zip(record.chunks, record.vectors,
                                                             record.terms)):
                meta = chunk.metadata
                extra = {k: v for k, v in meta.items() if k not in _NAMED}
                copy.write_row((key, record.sha256, seq, chunk.page_content, meta.get("title"),
                                meta.get("section"), meta.get("page"), json.dumps(extra),
                                " ".join(terms), np.asarray(vector, dtype=np.float32)))


def present(conn, key: str, shas: list[str]) -> set[str]:
    """Which of these contents are stored."""
    rows = conn.execute("SELECT sha256 FROM ragbot_contents WHERE index_key = %s AND sha256 = ANY(%s)",
                        (key, list(shas))).fetchall()
    return {r[0] for r in rows}


def read(conn, key: str, shas, dimension: int) -> dict[str, StoredContent]:
    """The stored contents among `shas`, by sha256 (chunks without a "source")."""
    shas = sorted(set(shas))
    if not shas:
        return {}
    found: dict[str, tuple[list, list, list]] = {}
    with conn.cursor(binary=True) as cur:
        cur.execute(
            "SELECT sha256, title, section, page, metadata, text, terms, embedding FROM ragbot_chunks "
            "WHERE index_key = %s AND sha256 = ANY(%s) ORDER BY sha256, seq", (key, shas))
        for sha, title, section, page, extra, text, terms, embedding in cur:
            chunks, vectors, term_lists = found.setdefault(sha, ([], [], []))
            meta = {}
            if title is not None:
                meta["title"] = title
            if section is not None:
                meta["section"] = section
            if page is not None:
                meta["page"] = page
            meta.update(extra or {})
            chunks.append(Document(page_content=text, metadata=meta))
            vectors.append(embedding.to_numpy())
            term_lists.append([sys.intern(t) for t in terms.split()])
    out = {}
    for sha, (chunks, vectors, term_lists) in found.items():
        array = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        if array.shape[1] != dimension:
            from ...errors import KnowledgeStoreError

            raise KnowledgeStoreError(f"stored vectors of content {sha[:12]} have {array.shape[1]} "
                                      f"dimensions, the index key says {dimension}")
        out[sha] = StoredContent(chunks, array, term_lists)
    return out
