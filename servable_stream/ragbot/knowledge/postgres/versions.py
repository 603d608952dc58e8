"""Published versions: written by the writer in one transaction, read by every replica.

`publish` inserts the version and its documents, makes sure every content it lists is
stored, and NOTIFYs the channel, all in one transaction: a reader sees the whole version or
nothing of it. `read_index` turns a published version into the in-memory KnowledgeIndex
(FAISS + BM25 over the stored vectors and terms), loading only the contents the replica
does not already hold, and reusing the whole index when the documents' contents are the
same (a refresh that found nothing new). Old versions are pruned, and with them any content
no kept version lists.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

from ..index import KnowledgeIndex, index_from_records
from ..index_store import DocRecord
from ..rebuild import RebuildReport
from ..store import PublishedVersion, StoredContent
from . import contents
from .schema import CHANNEL

log = logging.getLogger(__name__)

KEEP_VERSIONS = 10  # versions kept per index key (the newest answers; the rest are history)
_VERSION_COLUMNS = "id, writer, extract(epoch FROM published_at), documents, chunks, instance"


def _version(row) -> PublishedVersion:
    return PublishedVersion(int(row[0]), row[1], float(row[2]), int(row[3]), int(row[4]), row[5])


def latest(conn, key: str) -> PublishedVersion | None:
    row = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM ragbot_versions WHERE index_key = %s "
                       "ORDER BY id DESC LIMIT 1", (key,)).fetchone()
    return _version(row) if row else None


def publish(conn, key: str, records: list[DocRecord], report: RebuildReport, *, writer: str,
            instance: str) -> PublishedVersion:
    """Publish `records` (docs.txt order) as the newest version of `key`; one transaction."""
    stale = dict(report.stale)
    with conn.transaction():
        stored = contents.present(conn, key, [r.sha256 for r in records])
        for record in records:  # e.g. kept before the database was reset: store it now
            if record.sha256 not in stored:
                contents.put(conn, key, record, writer)
                stored.add(record.sha256)
        row = conn.execute(
            "INSERT INTO ragbot_versions (index_key, writer, instance, documents, chunks, report) "
            f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_VERSION_COLUMNS}",
            (key, writer, instance, len(records), sum(len(r.chunks) for r in records),
             json.dumps(report.to_json()))).fetchone()
        version = _version(row)
        by_entry = {r.entry: r for r in records}
        skipped = dict(report.skipped)
        rows = []
        for position, entry in enumerate(report.entries):
            record = by_entry.get(entry)
            if record is not None:
                state = "stale" if entry in stale else "ok"
                rows.append((version.id, position, entry, record.sha256, state, stale.get(entry),
                             len(record.chunks), record.etag, record.last_modified, record.fetched_at))
            elif entry in skipped:
                rows.append((version.id, position, entry, None, "skipped", skipped[entry], 0,
                             None, None, None))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO ragbot_documents (version_id, position, source, sha256, state, reason, "
                "chunk_count, etag, last_modified, fetched_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(version.id)))
    return version


def prune(conn, key: str, keep: int | None = None) -> None:
    """Drop all but the newest `keep` (KEEP_VERSIONS) versions of `key`, then the contents none
    of them lists."""
    keep = KEEP_VERSIONS if keep is None else keep
    with conn.transaction():
        conn.execute(
            "DELETE FROM ragbot_versions WHERE index_key = %s AND id NOT IN "
            "(SELECT id FROM ragbot_versions WHERE index_key = %s ORDER BY id DESC LIMIT %s)",
            (key, key, keep))
        conn.execute(
            "DELETE FROM ragbot_contents c WHERE c.index_key = %s AND NOT EXISTS ("
            " SELECT 1 FROM ragbot_documents d JOIN ragbot_versions v ON v.id = d.version_id"
            " WHERE v.index_key = c.index_key AND d.sha256 = c.sha256)", (key,))


def held_contents(index: KnowledgeIndex) -> dict[str, StoredContent]:
    """The contents an index already holds in memory, by sha256."""
    return {r.sha256: StoredContent(r.chunks, r.vectors, r.terms) for r in index.records}


def read_index(conn, key: str, version: PublishedVersion, current: KnowledgeIndex, embeddings,
               dimension: int) -> KnowledgeIndex:
    """The KnowledgeIndex of a published version (one snapshot: repeatable read)."""
    started = time.monotonic()
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        report_json = conn.execute("SELECT report FROM ragbot_versions WHERE id = %s",
                                   (version.id,)).fetchone()
        if report_json is None:
            from ...errors import KnowledgeStoreError

            raise KnowledgeStoreError(f"knowledge version {version.id} is gone (pruned meanwhile)")
        docs = conn.execute(
            "SELECT source, sha256, state, etag, last_modified, fetched_at FROM ragbot_documents "
            "WHERE version_id = %s ORDER BY position", (version.id,)).fetchall()
        held = held_contents(current)
        wanted = [sha for _, sha, state, *_ in docs if sha is not None and state != "skipped"]
        loaded = contents.read(conn, key, [s for s in wanted if s not in held], dimension)
    report = RebuildReport.from_json(report_json[0])
    available = {**held, **loaded}
    records = []
    for source, sha, state, etag, last_modified, fetched_at in docs:
        if sha is None or state == "skipped":
            continue
        content = available.get(sha)
        if content is None:
            from ...errors import KnowledgeStoreError

            raise KnowledgeStoreError(f"knowledge version {version.id} lists {source} "
                                      f"(content {sha[:12]}) whose chunks are not stored")
        records.append(DocRecord(source, sha, content.chunks_for(source), content.vectors, content.terms, fetched_at,
                                 etag, last_modified))
    signature = [(r.entry, r.sha256) for r in records]
    if current.chunks and signature == [(r.entry, r.sha256) for r in current.records]:
        # the same text as the index that answers: new document states, same FAISS and BM25
        return replace(current, records=tuple(records), report=report, version=version,
                       build_seconds=time.monotonic() - started)
    index = index_from_records(records, embeddings, started, report)
    return replace(index, version=version)
