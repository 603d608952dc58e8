"""The knowledge-base panel of the chat page: the servable's status JSON as safe Markdown.

The status is read over plain HTTP from the host's REST port
(`GET /v2/models/python_model/status`) or, under real OVMS, from the servable's own
METRICS_PORT server (`GET /status`). Titles, sources and reasons come from fetched
documents, so every cell is escaped: nothing in them becomes a link, an image or markup
(a URL source is linked by the client itself, quoted). The store line says where the index
came from: this replica's own (local), or the shared knowledge base's published version,
which replica wrote it and when, and whether the database is reachable.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote, urlsplit

from client.render import escape

STATUS_PATH = "/v2/models/python_model/status"
STATE_LABELS = {"ok": "ok", "stale": "⚠️ stale", "skipped": "✖ skipped"}


def default_status_url(ovms_url: str, rest_port: int = 8000) -> str:
    """The host's REST status route on the gRPC address's host (OVMS's usual REST port)."""
    host = urlsplit(f"//{ovms_url}").hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{rest_port}{STATUS_PATH}"


def fetch_status(url: str, timeout: float = 5.0) -> dict:
    """The status JSON; RuntimeError with a readable reason when it cannot be had."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            reason = json.loads(exc.read().decode("utf-8")).get("error") or exc.reason
        except (ValueError, AttributeError):
            reason = exc.reason
        raise RuntimeError(f"{url} answered HTTP {exc.code}: {reason}") from None
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise RuntimeError(f"{url} did not answer a knowledge-base status")
    return data


def _plain(text) -> str:
    """Escaped, and `://` broken up so that Markdown's autolinking makes no link of it."""
    return escape(str(text)).replace("://", ":\\/\\/")


def _cell(text) -> str:
    return _plain(text) if text not in (None, "") else "—"


def _document_label(doc: dict) -> str:
    source = str(doc.get("source", ""))
    title = _plain(doc.get("title") or source)
    if source.startswith(("http://", "https://")):
        return f"[{title}]({quote(source, safe=':/?&=#%+,;@~.-_')})"
    return title if not doc.get("title") else f"{title} ({_plain(source)})"


def _rebuild_line(last: dict | None) -> str:
    if not last:
        return "Last rebuild: none yet."
    when = _cell(last.get("finished"))
    if not last.get("ok"):
        return f"Last rebuild: **failed** at {when}: {_cell(last.get('error'))} (the previous index answers)."
    return (f"Last rebuild: {when}, {last.get('seconds', 0):.2f} s — added {len(last.get('added', []))}, "
            f"changed {len(last.get('changed', []))}, removed {len(last.get('removed', []))}, "
            f"not modified {last.get('not_modified', 0)}, stale {len(last.get('stale', []))}, "
            f"skipped {len(last.get('skipped', []))}; {last.get('embedded_chunks', 0)} chunks embedded.")


def _store_line(store: dict | None) -> str | None:
    if not isinstance(store, dict):
        return None
    if store.get("kind") != "postgres":
        return "Store: local (this replica's own index)."
    version = store.get("version") or {}
    text = f"Store: shared PostgreSQL {_cell(store.get('database'))} · "
    if version:
        text += (f"version **{_cell(version.get('id'))}**, published by {_cell(version.get('writer'))} "
                 f"at {_cell(version.get('published'))}")
    else:
        text += "no version published yet"
    text += f" · this replica: {_cell(store.get('replica'))} ({_cell(store.get('role'))})."
    if not store.get("connected", True):
        text += (f" ⚠️ Database unreachable since {_cell(store.get('lost_since'))}: "
                 f"{_cell(store.get('error'))}; answering from the version above until it is back.")
    return text


def status_markdown(status: dict) -> str:
    totals = status.get("totals", {})
    head = (f"**{totals.get('documents', 0)} documents, {totals.get('chunks', 0)} chunks** · "
            f"{totals.get('stale', 0)} stale · {totals.get('skipped', 0)} skipped")
    lines = [head, "", _rebuild_line(status.get("last_rebuild"))]
    store = _store_line(status.get("store"))
    if store:
        lines += ["", store]
    running = status.get("rebuilding")
    if running:
        lines += ["", f"Rebuilding now: {running.get('checked', 0)} of {running.get('total', 0)} "
                      "documents checked."]
    documents = status.get("documents") or []
    if not documents:
        return "\n".join(lines + ["", "_No documents are listed._"])
    lines += ["", "| Document | State | Chunks | Last fetched | Note |", "|---|---|---|---|---|"]
    for doc in documents:
        state = str(doc.get("state", ""))
        notes = [str(doc["reason"])] if doc.get("reason") else []
        removed = [str(r) for r in doc.get("removed") or []]
        if removed:  # what the servable cut because it addressed the assistant
            notes.append(f"🛡 cut {len(removed)} passage(s) addressing the assistant: " + "; ".join(removed))
        lines.append(f"| {_document_label(doc)} | {STATE_LABELS.get(state, _cell(state))} | "
                     f"{int(doc.get('chunks') or 0)} | {_cell(doc.get('last_fetched'))} | "
                     f"{_cell(' · '.join(notes))} |")
    return "\n".join(lines)


def panel_markdown(url: str | None, timeout: float = 5.0) -> str:
    """What the panel shows now: the status, or why there is none."""
    if not url:
        return "_The knowledge-base status is off (--status_url off)._"
    try:
        return status_markdown(fetch_status(url, timeout))
    except RuntimeError as exc:
        return f"_Knowledge-base status unavailable: {escape(str(exc))}_"
