"""Model output and sources as safe Markdown for the chat page.

Model text is untrusted: Markdown images would make the browser fetch remote URLs and raw
HTML could inject markup, so images become plain text and `<` is escaped outside code.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from client.wire import EndInfo, Source

_CODE = re.compile(r"(```[\s\S]*?(?:```|$)|`[^`\n]*`)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\s*(?:\([^)]*\)?|\[[^\]]*\])")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def safe_answer(text: str) -> str:
    """Answer text with images neutralised and HTML tags shown as text (code left as is)."""
    parts = _CODE.split(text)
    for i in range(0, len(parts), 2):  # even indexes are outside code
        outside = _IMAGE.sub(lambda m: f"[image: {m.group(1)}]" if m.group(1) else "[image]", parts[i])
        parts[i] = outside.replace("![", "!\\[").replace("<", "&lt;")
    return "".join(parts)


def escape(text: str) -> str:
    """Plain text (a title from the server) that Markdown must show literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " "))


def source_line(number: int, source: Source, supported: bool = True, attributed: bool = False) -> str:
    title = escape(" › ".join(p for p in (source.title, source.section) if p) or source.source)
    if source.is_url:
        label = f"[{title}]({quote(source.source, safe=':/?&=#%+,;@~.-_')})"
    else:
        label = f"{title} (`{source.source.replace('`', '')}`)" if source.title else f"`{source.source.replace('`', '')}`"
    page = f", page {source.page}" if source.page is not None else ""
    score = f" · score {source.score:.2f}" if source.score is not None else ""
    cited = " · **cited**" if source.cited else ""
    if source.cited and attributed:
        cited += " _(by the server: the answer named no source)_"
    if source.cited and not supported:
        cited += " · ⚠ _does not hold what the answer cites it for_"
    return f"- [{number}] {label}{page}{score}{cited}"


def sources_markdown(end_info: EndInfo) -> str:
    """The sources, cited ones first, each with the [n] the answer uses; a warning on a cited
    source that lacks what the answer cites it for; a note for a citation that names no
    passage."""
    if not end_info.sources:
        return ""
    lines = [source_line(s.number or n, s, (s.number or n) not in end_info.unsupported_citations,
                         (s.number or n) in end_info.attributed_citations)
             for n, s in enumerate(end_info.sources_cited_first(), start=1)]
    text = "**Sources**\n\n" + "\n".join(lines)
    if end_info.invalid_citations:
        numbers = ", ".join(f"[{n}]" for n in end_info.invalid_citations)
        text += f"\n\n_The answer cites {numbers}, which is not one of these sources._"
    if end_info.withheld_figures:
        figures = ", ".join(escape(f) for f in end_info.withheld_figures)
        text += f"\n\n_The model's answer stated {figures}, which none of these sources holds, so it was withheld._"
    return text
