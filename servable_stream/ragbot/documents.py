"""docs.txt entries -> loaded, split LangChain Documents.

docs.txt: one entry per line; blank lines and `#` comments are ignored; local paths
are relative to docs.txt's folder (or absolute). A missing or empty docs.txt is a valid
empty knowledge base. Entries that cannot be loaded are skipped with a logged reason.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.documents import Document
from langchain_text_splitters import RecursiveCharacterTextSplitter

from .errors import DocumentError

log = logging.getLogger(__name__)

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
TITLE_MAX_CHARS = 120


@dataclass
class LoadedDocs:
    chunks: list[Document] = field(default_factory=list)
    document_count: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (entry, reason)


def read_entries(docs_file: Path) -> list[str]:
    if not docs_file.is_file():
        log.info("no %s: the knowledge base is empty", docs_file)
        return []
    entries = []
    for line in docs_file.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return entries


def load_entry(entry: str, base_dir: Path) -> Document:
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", entry):
        raise DocumentError(f"{entry}: URLs are not supported yet")
    path = Path(entry).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file():
        raise DocumentError(f"{entry}: file not found ({path})")
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise DocumentError(f"{entry}: unsupported file type {path.suffix!r}; supported: {', '.join(TEXT_SUFFIXES)}")
    text = path.read_text(encoding="utf-8", errors="replace")
    return Document(page_content=text, metadata={"source": entry, "title": _title(text, path)})


def load_documents(docs_file: Path, chunk_size: int, chunk_overlap: int) -> LoadedDocs:
    result = LoadedDocs()
    documents = []
    for entry in read_entries(docs_file):
        try:
            documents.append(load_entry(entry, docs_file.parent))
        except DocumentError as exc:
            log.warning("skipping document: %s", exc)
            result.skipped.append((entry, str(exc)))
        except OSError as exc:
            log.warning("skipping document %s: %s", entry, exc)
            result.skipped.append((entry, str(exc)))
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    result.chunks = [c for c in splitter.split_documents(documents) if c.page_content.strip()]
    result.document_count = len(documents)
    return result


def _title(text: str, path: Path) -> str:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:TITLE_MAX_CHARS]
    return path.name
