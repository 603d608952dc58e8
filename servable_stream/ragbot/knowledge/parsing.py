"""Bytes of one document -> text pages (plain text, Markdown, HTML, PDF).

What a reader cannot see is not part of a page: invisible characters, comments and hidden
HTML elements are dropped here (hygiene.py says why).

The format comes from the content type when it is specific; a missing or generic one
(application/octet-stream, text/plain) falls back to magic bytes and the extension of
the URL path or file name. Every failure is a DocumentError whose message says why,
so the loader can skip the document and log the reason.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from ..errors import DocumentError, UnsupportedFormatError
from .hygiene import drop_comments, strip_invisible

__all__ = ["ParsedPage", "parse_document", "detect_format", "sniff"]


@dataclass(frozen=True)
class ParsedPage:
    text: str
    title: str | None
    page: int | None  # 1-based page number for PDFs, None otherwise
    headings: bool = False  # Markdown heading lines mark sections (Markdown, HTML)


TEXT, MARKDOWN, HTML, PDF = "text", "markdown", "html", "pdf"

_BY_TYPE = {
    "text/plain": TEXT, "text/markdown": MARKDOWN, "text/x-markdown": MARKDOWN,
    "text/html": HTML, "application/xhtml+xml": HTML, "application/pdf": PDF,
}
_BY_EXT = {
    ".txt": TEXT, ".text": TEXT, ".md": MARKDOWN, ".markdown": MARKDOWN,
    ".html": HTML, ".htm": HTML, ".xhtml": HTML, ".pdf": PDF,
}
_GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream"}


def _mime_and_charset(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    mime, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return mime.strip().lower(), charset


def _extension(source: str) -> str:
    path = urlsplit(source).path if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", source) else source
    return PurePosixPath(unquote(path).replace("\\", "/")).suffix.lower()


def sniff(content: bytes) -> str | None:
    """Format from magic bytes: PDF or HTML, else None."""
    head = content[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf-"):
        return PDF
    if head.startswith((b"<!doctype html", b"<html")):
        return HTML
    return None


def detect_format(content: bytes, source: str, content_type: str | None) -> str:
    """One of TEXT/MARKDOWN/HTML/PDF, or raise UnsupportedFormatError with the reason."""
    mime, _ = _mime_and_charset(content_type)
    ext = _extension(source)
    if mime in _GENERIC_TYPES:
        found = sniff(content) or _BY_EXT.get(ext)
        if found:
            return found
        if not ext and b"\0" not in content[:4096]:
            return TEXT  # e.g. a local file called README
        raise UnsupportedFormatError(
            f"unsupported file type {ext or '(no extension)'!r} for {source}"
            + (f" (content type {mime})" if mime else ""))
    if mime == "text/plain" and _BY_EXT.get(ext) == MARKDOWN:
        return MARKDOWN  # many servers send .md as text/plain
    if mime in _BY_TYPE:
        return _BY_TYPE[mime]
    raise UnsupportedFormatError(f"unsupported content type {mime} for {source}")


def _decode(content: bytes, charset: str | None) -> str:
    if charset:
        try:
            return content.decode(charset, errors="replace")
        except LookupError:
            pass  # unknown charset name: fall through to UTF-8
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("utf-8", errors="replace")


def _require_text(text: str, source: str) -> str:
    text = text.strip()
    if not text:
        raise DocumentError(f"no text in {source}")
    return text


# ---------------------------------------------------------------- formats
_MD_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown_title(text: str) -> str | None:
    in_fence = False
    for line in text.splitlines():
        if _MD_FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (m := _MD_HEADING.match(line)):
            return m.group(1)
    return None


# Dropped before extracting text: code, chrome around the content, and invisible parts.
_HTML_DROP = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form",
              "template", "svg", "iframe", "object", "embed", "canvas")
_HTML_BLOCKS = ("p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt",
                "dd", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table",
                "tr", "figure", "figcaption", "hr", "address", "details", "summary")
_HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_LINE_BREAK = "\ue000"  # private-use char standing for <br> while whitespace is collapsed


def _html_parser() -> str:
    try:
        import lxml  # noqa: F401
        return "lxml"
    except ImportError:
        return "html.parser"


_HIDDEN_STYLE = re.compile(r"(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]))",
                           re.IGNORECASE)


def _hidden(tag) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    return ("hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true"
            or bool(_HIDDEN_STYLE.search(str(attrs.get("style", "")))))


def _parse_html(content: bytes, charset: str | None, source: str) -> list[ParsedPage]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content, _html_parser(), from_encoding=charset)
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = " ".join(soup.title.get_text().split())
    elif (h1 := soup.find("h1")) and h1.get_text(strip=True):
        title = " ".join(h1.get_text().split())
    for tag in soup.find_all(_HTML_DROP):
        tag.decompose()
    for tag in soup.find_all(_hidden):  # what a reader never sees is not part of the page
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    for br in root.find_all("br"):
        br.replace_with(_LINE_BREAK)
    for heading in root.find_all(_HTML_HEADINGS):  # kept as Markdown headings: sections
        text = " ".join(heading.get_text().split())
        if text:
            heading.replace_with(f"\n\n{'#' * int(heading.name[1])} {text}\n\n")
    for block in root.find_all(_HTML_BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    paragraphs = []
    for chunk in re.split(r"\n\s*\n", root.get_text()):
        para = " ".join(chunk.split()).replace(f" {_LINE_BREAK} ", _LINE_BREAK)
        para = para.replace(_LINE_BREAK, "\n").strip()
        if para:
            paragraphs.append(para)
    return [ParsedPage(_require_text("\n\n".join(paragraphs), source), title, None, headings=True)]


def _parse_pdf(content: bytes, source: str) -> list[ParsedPage]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(f"not a readable PDF: {source} is encrypted")
        title = None
        try:
            title = (reader.metadata or {}).get("/Title") or None
        except Exception:  # metadata is optional; a broken info dict is not fatal
            pass
        pages = []
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            if text:
                pages.append(ParsedPage(text, str(title) if title else None, number))
    except DocumentError:
        raise
    except Exception as e:  # pypdf raises many types on malformed input
        raise DocumentError(f"not a readable PDF: {source}: {type(e).__name__}: {e}") from None
    if not pages:
        raise DocumentError(f"no text in {source} (a scanned PDF without a text layer?)")
    return pages


def parse_document(content: bytes, *, source: str, content_type: str | None) -> list[ParsedPage]:
    """Text pages of one document; `source` (URL or path) supplies the extension.

    Raises UnsupportedFormatError for other formats, DocumentError for unreadable or
    empty documents.
    """
    fmt = detect_format(content, source, content_type)
    _, charset = _mime_and_charset(content_type)
    if fmt == PDF:
        pages = _parse_pdf(content, source)
    elif fmt == HTML:
        pages = _parse_html(content, charset, source)
    else:
        text = _require_text(drop_comments(strip_invisible(_decode(content, charset))), source)
        if fmt == MARKDOWN:
            return [ParsedPage(text, _markdown_title(text), None, headings=True)]
        return [ParsedPage(text, None, None)]
    # invisible characters go from every format (hygiene.py); pages left empty go too
    pages = [ParsedPage(strip_invisible(p.text), p.title and strip_invisible(p.title), p.page, p.headings)
             for p in pages]
    pages = [p for p in pages if p.text.strip()]
    if not pages:
        raise DocumentError(f"no text in {source}")
    return pages
