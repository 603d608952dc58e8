"""docs.txt entries -> raw bytes (fetched or read) -> parsed, split LangChain Documents.

docs.txt: one entry per line; blank lines and `#` comments are ignored; http(s) URLs
are fetched through `fetching.fetch_url` (SSRF guard, size cap, deadline, TLS verified);
local paths are relative to docs.txt's folder (or absolute). Both go through
`parsing.parse_document`. A missing or empty docs.txt is a valid empty knowledge base.
Entries that cannot be loaded raise DocumentError with the reason (ingest.py skips them).
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from ..errors import DocumentError
from .fetching import FetchPolicy, Validators, fetch_url
from .hygiene import remove_directives
from .parsing import parse_document

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 120
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class RawDocument:
    """One entry's bytes as fetched/read; `sha256` is what incremental indexing compares."""

    entry: str  # as written in docs.txt: chunk metadata "source"
    location: str  # final URL or absolute path (gives the parser the extension)
    content: bytes
    content_type: str | None
    sha256: str  # "" when not_modified
    validators: Validators = Validators()  # a URL's ETag / Last-Modified, for the next fetch
    not_modified: bool = False  # a conditional fetch answered 304: no content, keep the copy


def is_url(entry: str) -> bool:
    return bool(_URL.match(entry))


def read_entries(docs_file: Path) -> list[str]:
    """The entries of docs.txt in order, duplicates dropped; [] when it is missing."""
    try:
        text = Path(docs_file).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        log.info("no %s: the knowledge base is empty", docs_file)
        return []
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and line not in entries:
            entries.append(line)
    return entries


def local_path(entry: str, base_dir: Path) -> Path | None:
    """The absolute path of a local entry (symlinks NOT resolved), None for URLs."""
    if is_url(entry):
        return None
    path = Path(entry).expanduser()
    return Path(os.path.abspath(path if path.is_absolute() else Path(base_dir) / path))


def fetch_entry(entry: str, base_dir: Path, policy: FetchPolicy,
                validators: Validators | None = None) -> RawDocument:
    """Bytes of one entry; DocumentError (with the reason) when it cannot be had.

    `validators` (a URL's, from the copy we hold) make the fetch conditional."""
    path = local_path(entry, base_dir)
    if path is None:
        fetched = fetch_url(entry, policy, validators)
        if fetched.not_modified:
            return RawDocument(entry, fetched.final_url, b"", fetched.content_type, "",
                               fetched.validators, not_modified=True)
        return RawDocument(entry, fetched.final_url, fetched.content, fetched.content_type,
                           hashlib.sha256(fetched.content).hexdigest(), fetched.validators)
    if not path.is_file():
        raise DocumentError(f"{entry}: file not found ({path})")
    size = path.stat().st_size
    if size > policy.max_bytes:
        raise DocumentError(f"{entry}: {size} bytes, over the {policy.max_bytes}-byte limit "
                            "(DOCS_MAX_BYTES)")
    content = path.read_bytes()
    return RawDocument(entry, str(path), content, None, hashlib.sha256(content).hexdigest())


REMOVED = "removed"  # chunk metadata: what hygiene.remove_directives cut from its section


def split_raw(raw: RawDocument, splitter: RecursiveCharacterTextSplitter) -> list[Document]:
    """Parse and split one document; chunks carry source (the entry), title, section (the
    heading path of Markdown and HTML, e.g. "Care > Descaling") and page (PDF). A section is
    split further only when it is longer than a chunk, so a heading stays with its text.
    Sentences that address the assistant are cut out first; the first chunk of their
    section says so (metadata "removed"), for the knowledge status."""
    try:
        pages = parse_document(raw.content, source=raw.location, content_type=raw.content_type)
    except DocumentError as exc:
        raise DocumentError(f"{raw.entry}: {exc}") from None
    chunks = []
    for page in pages:
        title = page.title or _title(page.text, raw.location)
        if page.headings:
            parts = sections(page.text, title)
        elif page.page is None:  # plain text: underlined and numbered headings (plain_sections)
            parts = plain_sections(page.text, title)
        else:
            parts = [("", page.text)]
        # the title heads every passage of the document: it cannot carry orders either
        title = remove_directives(title)[0] or Path(raw.location).name
        for section, body in parts:
            section = remove_directives(section)[0]
            body, removed = remove_directives(body)
            metadata = {"source": raw.entry, "title": title}
            if section:
                metadata["section"] = section
            if page.page is not None:
                metadata["page"] = page.page
            pieces = [c for c in splitter.split_documents([Document(page_content=body, metadata=metadata)])
                      if c.page_content.strip()]
            if removed and pieces:
                pieces[0].metadata[REMOVED] = "; ".join(r.describe() for r in removed)
            chunks += pieces
    if not chunks:
        raise DocumentError(f"{raw.entry}: no text")
    return chunks


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def sections(text: str, title: str = "") -> list[tuple[str, str]]:
    """(heading path, body) of Markdown text, in order; the document's own title heading is
    not part of the path. Headings inside code fences are text."""

    def items():
        in_fence = False
        for line in text.splitlines():
            if _FENCE.match(line):
                in_fence = not in_fence
            heading = None if in_fence else _HEADING.match(line)
            yield line if heading is None else (len(heading.group(1)), heading.group(2))

    return _outline(items(), title)


def _outline(items, title: str) -> list[tuple[str, str]]:
    """(heading path, body) pairs from body lines (str) and headings ((level, name)) in
    order; a heading closes the sections at its level and below. The title is no level."""
    out: list[tuple[str, str]] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def flush():
        text_ = "\n".join(body).strip()
        if text_:
            names = [name for _, name in path]
            if names and names[0] == title:
                names = names[1:]
            out.append((" > ".join(names), text_))
        body.clear()

    for item in items:
        if isinstance(item, str):
            body.append(item)
            continue
        flush()
        level, name = item
        path[:] = [(lvl, n) for lvl, n in path if lvl < level] + [(level, name)]
    flush()
    return out


# Plain-text headings. Underlined (reStructuredText, pydoc, the MPL): a short line over a line
# of one repeated = - * ~ ^ + character at least as long as most of it; levels in the order
# the characters first appear. Numbered (the Apache licence, RFC-like text): a paragraph that
# starts "7. Disclaimer of Warranty." (top-level number, a capitalised phrase, then a period or
# the line's end), only when the document numbers them 1, 2, 3, ... and its sections are
# longer than a list item's (NUMBERED_MIN_BODY): a list of steps stays one text.
_UNDERLINE = re.compile(r"^\s*([=\-*~^+])\1{2,}\s*$")
_SMALL_WORDS = "of|and|or|the|to|for|in|on|by|a|an|with|from|under|not"
_NUMBERED = re.compile(
    r"^\s{0,8}(\d{1,2})\.\s+([A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|" + _SMALL_WORDS + r")){0,7})"
    r"(?:\.\s+(\S.*)|\.?\s*)$")
NUMBERED_MIN_BODY = 200  # mean characters per numbered section
# Numbered clauses inside those sections ("1.12. "Secondary License"", "3.4. Notices"): a
# paragraph that starts with two numbers and a quoted term or a short capitalised phrase
# alone on its line. A definition then heads its own passage ("1. Definitions > 1.12.
# "Secondary License"") instead of sharing one with the two before it.
_CLAUSE = re.compile(
    r'^\s{0,8}(\d{1,2}\.\d{1,2})\.\s+((?:"[^"]{1,60}"(?:\s*\([^()]{1,40}\))?|[A-Z][\w\'’-]*)(?:\s+(?:[A-Z][\w\'’-]*|'
    + _SMALL_WORDS + r')){0,7})\.?\s*$')
HEADING_MAX_CHARS = 100


def plain_sections(text: str, title: str = "") -> list[tuple[str, str]]:
    """(heading path, body) of plain text, as `sections` gives them for Markdown; the whole
    text as one part when it has no headings this recognises."""
    lines = [_unframed(line) for line in text.splitlines()]
    marks: dict[int, tuple[int, str, str]] = {}  # line -> (level, name, rest of the line)
    levels: list[str] = []
    skip: set[int] = set()  # underline lines
    for i in range(len(lines) - 1):
        line, under = lines[i].strip(), _UNDERLINE.match(lines[i + 1])
        if (under and line and len(line) <= HEADING_MAX_CHARS and not _UNDERLINE.match(lines[i])
                and len(lines[i + 1].strip()) >= 0.7 * len(line) and (i == 0 or not lines[i - 1].strip())):
            char = under.group(1)
            if char not in levels:
                levels.append(char)
            marks[i] = (levels.index(char) + 1, line, "")
            skip.add(i + 1)
    numbered = {i: m for i, raw in enumerate(lines)
                if i not in marks and i not in skip and (i == 0 or not lines[i - 1].strip())
                and (m := _NUMBERED.match(raw))}
    numbers = [int(m.group(1)) for m in numbered.values()]
    if len(numbers) >= 2 and numbers == list(range(1, len(numbers) + 1)) \
            and len(text) / len(numbers) >= NUMBERED_MIN_BODY:
        for i, m in numbered.items():
            marks[i] = (len(levels) + 1, f"{m.group(1)}. {m.group(2)}", m.group(3) or "")
    if not marks:
        return [("", text)]
    clauses = {i: m for i, raw in enumerate(lines)
               if i not in marks and i not in skip and (i == 0 or not lines[i - 1].strip())
               and (m := _CLAUSE.match(raw))}
    if len(clauses) >= 2:
        for i, m in clauses.items():
            marks[i] = (len(levels) + 2, f"{m.group(1)}. {m.group(2)}", "")

    def items():
        for i, line in enumerate(lines):
            if i in skip:
                continue
            if i not in marks:
                yield line
                continue
            level, name, rest = marks[i]
            yield level, name
            if rest:
                yield rest

    return _outline(items(), title)


_FRAMED = re.compile(r"^\s*\*\s+(.*?)\s*\*\s*$")  # "*  text  *", not "*emphasis* ... *this*"


def _unframed(line: str) -> str:
    """A line of a box drawn with asterisks ("*  6. Disclaimer of Warranty   *") without it."""
    framed = _FRAMED.match(line)
    return framed.group(1) if framed else line


def context_text(chunk: Document) -> str:
    """What is embedded and keyword-indexed for a chunk: where it is, then what it says."""
    where = " > ".join(p for p in (chunk.metadata.get("title"), chunk.metadata.get("section")) if p)
    return f"{where}\n\n{chunk.page_content}" if where else chunk.page_content


# Where a section longer than a chunk is cut, best first: paragraphs, lines, then sentence
# ends (kept with their sentence), clauses, words. A chunk so starts and ends on a sentence
# boundary wherever the text allows, and the overlap repeats whole sentences, so a sentence
# keeps the one before it that names its subject.
SEPARATORS = ("\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", "")


def make_splitter(chunk_size: int, chunk_overlap: int) -> RecursiveCharacterTextSplitter:
    return RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap,
                                          separators=list(SEPARATORS), keep_separator="end")


def docs_fingerprint(docs_file: Path, max_bytes: int) -> str:
    """sha256 over docs.txt and the local files it lists: equal means nothing to re-index.

    Read through symlinks each time, so a swapped `..data` link (Kubernetes ConfigMap)
    shows as changed content. URLs are not fetched here.
    """
    digest = hashlib.sha256()
    docs_file = Path(docs_file)
    digest.update(_file_digest(docs_file, max_bytes).encode())
    for entry in read_entries(docs_file):
        path = local_path(entry, docs_file.parent)
        if path is not None:
            digest.update(f"\0{entry}\0{_file_digest(path, max_bytes)}".encode())
    return digest.hexdigest()


def _file_digest(path: Path, max_bytes: int) -> str:
    try:
        stat = path.stat()
        if stat.st_size > max_bytes:  # too large to index anyway: size/mtime is enough
            return f"large:{stat.st_size}:{stat.st_mtime_ns}"
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "missing"


def _title(text: str, location: str) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:TITLE_MAX_CHARS]
    return Path(location).name
