"""The knowledge base as a read-only JSON document: what is indexed, in what state, and how
the last rebuild went. Served by the host's REST port (GET /v2/models/<name>/status) or,
under real OVMS, by the servable's own METRICS_PORT server (GET /status).

    {"documents": [{"source", "title", "chunks", "last_fetched", "state", "reason"?,
                    "removed"?: ["<why>: “<what it said>”", ...]}],
     "totals": {"documents", "chunks", "ok", "stale", "skipped"},
     "last_rebuild": {...RebuildReport, times as ISO 8601 UTC} | null,
     "rebuilding": {"checked", "total", "started"} | null,
     "refresh_seconds", "next_refresh_in",
     "store": {"kind": "local" | "postgres", "replica", "role", "connected", "version"?, ...}}

Document states describe the index that answers now (in docs.txt order): "ok" (indexed
from its last fetch), "stale" (a transient failure: served from the copy of `last_fetched`,
the reason says why) and "skipped" (listed but not indexed, with the reason). "removed"
lists what was cut from a document because it addressed the assistant (hygiene.py). "store"
says where the index came from (store.py): a shared store names the published version that
answers, the replica that wrote it and when.
"""
from __future__ import annotations

from .documents import REMOVED
from .index import KnowledgeIndex
from .rebuild import RebuildProgress, RebuildReport
from .times import utc_iso

OK, STALE, SKIPPED = "ok", "stale", "skipped"


def documents(index: KnowledgeIndex) -> list[dict]:
    report: RebuildReport | None = index.report
    stale = dict(report.stale) if report else {}
    skipped = dict(report.skipped) if report else {}
    out = {}
    for record in index.records:
        doc = {"source": record.entry, "title": record.title, "chunks": len(record.chunks),
               "last_fetched": utc_iso(record.fetched_at), "state": OK}
        if record.entry in stale:
            doc.update(state=STALE, reason=stale[record.entry])
        removed = [c.metadata[REMOVED] for c in record.chunks if c.metadata.get(REMOVED)]
        if removed:
            doc["removed"] = removed
        out[record.entry] = doc
    for entry, reason in skipped.items():
        out.setdefault(entry, {"source": entry, "title": None, "chunks": 0, "last_fetched": None,
                               "state": SKIPPED, "reason": reason})
    order = {entry: i for i, entry in enumerate(report.entries if report else ())}
    return sorted(out.values(), key=lambda d: order.get(d["source"], len(order)))


def rebuild_summary(report: RebuildReport | None) -> dict | None:
    if report is None:
        return None
    return {
        "ok": report.ok, "error": report.error, "finished": utc_iso(report.finished_at),
        "seconds": round(report.seconds, 3), "documents": report.documents,
        "chunks": report.chunks, "embedded_chunks": report.embedded_chunks,
        "added": report.added, "changed": report.changed, "removed": report.removed,
        "unchanged": len(report.unchanged), "not_modified": len(report.not_modified),
        "stale": [{"source": e, "reason": why} for e, why in report.stale],
        "skipped": [{"source": e, "reason": why} for e, why in report.skipped],
        "summary": report.summary() if report.ok else f"failed: {report.error}",
    }


def knowledge_status(index: KnowledgeIndex, last_report: RebuildReport | None,
                     progress: RebuildProgress | None, *, refresh_seconds: float,
                     next_refresh_in: float | None, store: dict | None = None) -> dict:
    docs = documents(index)
    states = [d["state"] for d in docs]
    return {
        "documents": docs,
        "totals": {"documents": index.document_count, "chunks": index.chunk_count,
                   OK: states.count(OK), STALE: states.count(STALE),
                   SKIPPED: states.count(SKIPPED)},
        "last_rebuild": rebuild_summary(last_report),
        "rebuilding": None if progress is None else {
            "checked": progress.checked, "total": progress.total,
            "started": utc_iso(progress.started_at)},
        "refresh_seconds": refresh_seconds,
        "next_refresh_in": None if next_refresh_in is None else round(next_refresh_in, 1),
        "store": store,
    }
