"""The shared knowledge base's tables, created once (by whichever replica connects first).

    ragbot_contents   one row per document content (sha256 of its bytes) and index key: it was
                      split and embedded once, by `embedded_by`
    ragbot_chunks     that content's chunks in order: text, title, section, page, any other
                      metadata, BM25 terms, and the embedding (pgvector `vector`, float32 as
                      embedded; the index key names the model, precision and dimension)
    ragbot_versions   published versions: who wrote each, when, how many documents and chunks,
                      and the writer's rebuild report
    ragbot_documents  each version's documents in docs.txt order: source, content hash, state
                      ok / stale / skipped with the reason, ETag / Last-Modified, last fetched

A version is published in one transaction (versions.py), so a reader sees all of it or none
of it; contents are written as they are embedded, before the version that lists them, so a
writer that dies mid-rebuild leaves them for the next one. `index_key` keeps the vectors of
different embedding models, precisions and chunkings apart in the same tables: one
deployment changing EMBEDDING_MODEL gets versions of its own and embeds everything once.
The embedding column has no fixed dimension so that several keys can share it; the key
fixes it (the loader checks every vector's length).
"""
from __future__ import annotations

import hashlib

from ..index_store import IndexKey

CHANNEL = "ragbot_knowledge"  # NOTIFY channel; the payload is the published version's id
SCHEMA_LOCK = 0x7261_6762_6f74_0001  # pg_advisory_xact_lock: one replica creates the tables

DDL = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS ragbot_contents (
    index_key   text NOT NULL,
    sha256      text NOT NULL,
    chunk_count integer NOT NULL,
    embedded_by text NOT NULL,
    embedded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (index_key, sha256)
);
CREATE TABLE IF NOT EXISTS ragbot_chunks (
    index_key text NOT NULL,
    sha256    text NOT NULL,
    seq       integer NOT NULL,
    text      text NOT NULL,
    title     text,
    section   text,
    page      integer,
    metadata  jsonb NOT NULL DEFAULT '{}'::jsonb,
    terms     text NOT NULL,
    embedding vector NOT NULL,
    PRIMARY KEY (index_key, sha256, seq),
    FOREIGN KEY (index_key, sha256) REFERENCES ragbot_contents ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS ragbot_versions (
    id           bigserial PRIMARY KEY,
    index_key    text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    writer       text NOT NULL,
    instance     text NOT NULL,
    documents    integer NOT NULL,
    chunks       integer NOT NULL,
    report       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS ragbot_versions_by_key ON ragbot_versions (index_key, id DESC);
CREATE TABLE IF NOT EXISTS ragbot_documents (
    version_id    bigint NOT NULL REFERENCES ragbot_versions ON DELETE CASCADE,
    position      integer NOT NULL,
    source        text NOT NULL,
    sha256        text,
    state         text NOT NULL CHECK (state IN ('ok', 'stale', 'skipped')),
    reason        text,
    chunk_count   integer NOT NULL DEFAULT 0,
    etag          text,
    last_modified text,
    fetched_at    double precision,
    PRIMARY KEY (version_id, position)
);
CREATE INDEX IF NOT EXISTS ragbot_documents_by_content ON ragbot_documents (sha256);
"""


def store_key(key: IndexKey) -> str:
    """The index key as stored: `all-MiniLM-L6-v2|384|1000/200|v2` (model[+precision],
    dimension, chunk size/overlap, chunking format)."""
    return (f"{key.embedding_model}|{key.dimension}|{key.chunk_size}/{key.chunk_overlap}"
            f"|v{key.format}")


def writer_lock_id(key: str) -> int:
    """The advisory lock the writer of `key` holds (a signed 64-bit int from its hash)."""
    digest = hashlib.sha256(f"ragbot writer {key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def ensure(conn) -> None:
    """Create the extension and the tables if missing (replicas starting together take turns)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        conn.execute(DDL)
