"""The answer's passages in the forms clients show: Open WebUI's source events, a Markdown
footnote for text-only clients, and that footnote taken back out of the history.

Open WebUI 0.12.4 (its middleware, `utils/middleware.py`, for an OpenAI connection's stream)
forwards a chunk's top-level `event` to the browser as is; an event of type "source" adds
one entry to the message's sources: the "N Sources" chip under the answer, a modal with the
passage text and relevance, and the target of an inline "[n]" (Open WebUI numbers the
sources by first appearance of their `metadata.source` id, `Citations.svelte`). So every
passage gets its own event and its own id (two passages of one document would otherwise
merge into one source and "[2]" would point at nothing), in the order of the servable's
sources: with `renumber_citations` that is the order of the answer's [n], cited ones first.
The id is not the URL itself (Open WebUI would then show the bare URL as the name); the URL
goes in `source.url`, where Open WebUI links it and adds a text fragment to the passage.
OpenAI's own `annotations` (`url_citation`) were not used: they carry a URL and title only
(no passage text, no relevance, nothing for a local file), and Open WebUI keys them by URL.
"""

from __future__ import annotations

import re
from typing import Any

from client.render import source_line
from client.wire import Source

__all__ = ["openwebui_source_events", "sources_footnote", "strip_footnote", "passage_name"]

FOOTNOTE_HEADING = "**Sources**"
# what sources_footnote appends, at the very end of an assistant turn
_FOOTNOTE = re.compile(r"\s*\*\*Sources\*\*[ \t]*\n(?:[ \t]*\n)*(?:[ \t]*- \[\d+\][^\n]*(?:\n|\Z))+\s*\Z")


def _source(item: dict[str, Any]) -> Source:
    return Source(source=str(item.get("source", "")), title=str(item.get("title") or ""),
                  score=item.get("score"), page=item.get("page"),
                  section=str(item.get("section") or ""), cited=item.get("cited") is True)


def passage_name(item: dict[str, Any]) -> str:
    """"title › section" (or the source), with the page of a PDF."""
    name = " › ".join(str(p) for p in (item.get("title"), item.get("section")) if p) \
        or str(item.get("source") or "source")
    return f"{name}, page {item['page']}" if item.get("page") is not None else name


def openwebui_source_events(sources: list[dict[str, Any]], excerpts: list[str]) -> list[dict]:
    """One Open WebUI "source" event per passage, in the given order."""
    events = []
    for number, (item, excerpt) in enumerate(zip(sources, excerpts), start=1):
        source = str(item.get("source") or "")
        name = passage_name(item)
        ident = f"passage {number}: {source}"  # unique per passage; never starts with http
        origin = {"id": ident, "name": name}
        if source.startswith(("http://", "https://")):
            origin["url"] = source
        if item.get("supported") is False:  # the servable found the cited facts missing
            name = f"⚠ {name} (does not hold what the answer cites it for)"
            origin["name"] = name
        metadata = {"source": ident, "name": name, "cited": item.get("cited") is True}
        if isinstance(item.get("rank"), int):
            metadata["rank"] = item["rank"]
        data = {"source": origin, "document": [excerpt or name], "metadata": [metadata]}
        if isinstance(item.get("score"), (int, float)):
            data["distances"] = [item["score"]]
        events.append({"type": "source", "data": data})
    return events


def sources_footnote(sources: list[dict[str, Any]]) -> str:
    """The sources as Markdown after the answer, for clients that only render text; each
    line keeps its [n] ("title › section" for a passage of a section)."""
    if not sources:
        return ""
    lines = [source_line(n, _source(s), s.get("supported") is not False) for n, s in enumerate(sources, start=1)]
    return f"\n\n{FOOTNOTE_HEADING}\n\n" + "\n".join(lines)


def strip_footnote(text: str) -> str:
    """An assistant turn without the footnote this gateway appended (a client that sends it
    back in the history would otherwise get it copied into the next answer)."""
    return _FOOTNOTE.sub("", text)
