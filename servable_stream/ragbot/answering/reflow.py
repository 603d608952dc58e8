"""PASSAGE_REFLOW: the prompt's passages with hard-wrapped prose joined back into paragraphs.

Plain-text documents (licences, RFCs, pydoc pages) and much Markdown are wrapped at ~70-100
columns and indented. A model that quotes or restates such a passage writes the sentence on
one line, so the prompt's line breaks and indentation are (1) tokens the prefill pays for and
(2) where prompt-lookup decoding's drafts stop matching: each wrapped line ends the n-gram the
draft follows (a 128-token quote of a pydoc page took 43 model steps, 2.98 tokens per step).

`reflow` keeps the structure that carries meaning: blank lines (paragraphs), list items,
headings, table rows, block quotes and fenced code (kept verbatim). Inside a paragraph it
joins the lines with one space (a word split by a hyphen at the line end is joined as
"non-numeric"), strips the indentation and collapses runs of spaces. The stored chunk is not
changed (index, sources and excerpts stay as they were): only the prompt's copy.

Off by default: with the 1.5B it halves a quote's decode steps, but `make eval` marks move
both ways with it (eval/README.md, docs/backends.md).
"""
from __future__ import annotations

import re

# a line that starts a block of its own: list item, heading, table row, block quote
_BLOCK_START = re.compile(r"^(?:[-*+•]\s|\d{1,3}(?:\.\d{1,3})*[.)]\s|\([a-zA-Z0-9]{1,4}\)\s|#{1,6}\s|\||>\s?)")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")
_HYPHEN_END = re.compile(r"[A-Za-z]-$")


def reflow(text: str) -> str:
    out: list[str] = []
    fence: str | None = None
    joinable = False  # the last output line is prose that a following line may continue
    for raw in text.split("\n"):
        marker = _FENCE.match(raw)
        if fence is not None:  # inside fenced code: verbatim
            out.append(raw)
            if marker and marker.group(1) == fence:
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            out.append(raw.strip())
            joinable = False
            continue
        line = _SPACES.sub(" ", raw.strip())
        if not line:
            out.append("")
            joinable = False
            continue
        starts_block = bool(_BLOCK_START.match(line))
        if joinable and not starts_block:
            prev = out[-1]
            out[-1] = prev + line if _HYPHEN_END.search(prev) else f"{prev} {line}"
        else:
            out.append(line)
        # headings and table rows stand alone; list items and prose may wrap onto the next line
        joinable = not line.startswith(("#", "|"))
    return "\n".join(out)
