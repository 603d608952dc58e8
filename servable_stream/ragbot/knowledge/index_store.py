"""The persisted index on disk: no pickle anywhere, validated on load, written atomically.

INDEX_DIR holds three files:
  vectors.npy    float32 (chunks x dimension), L2-normalised; read with allow_pickle=False
  chunks.json    [{"text", "metadata": {"source", "title", "section"?, "page"?, "removed"?}, "terms"}],
                 row i = vector i; "terms" are the chunk's BM25 terms (keywords.py), one
                 space-separated string (a list of strings in older files: still read)
  manifest.json  {"format", "version", "embedding_model", "dimension", "chunk_size",
                  "chunk_overlap", "chunk_count", "files": {name: sha256},
                  "documents": [{"entry", "sha256", "start", "end",
                                 "fetched_at"?, "etag"?, "last_modified"?}]}
Each file is written to a temp name and renamed; the manifest goes last and records the
sha256 of the other two, so a torn or tampered write fails validation and the caller
rebuilds instead of trusting it. A document's "fetched_at" (epoch seconds of its last good
fetch) and a URL's validators are optional, so an index written before them still loads.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.documents import Document

from ..errors import IndexStoreError

log = logging.getLogger(__name__)

FORMAT = "ragbot-index"
VERSION = 6  # 2: chunks by section, embedded with their title and heading path; 3: split at
#             sentence ends, directives to the assistant cut out (hygiene.py); 4: plain text
#             by its underlined and numbered headings too (documents.plain_sections); 5: BM25
#             terms with plural -ies made singular (keywords.py); 6: numbered clauses of plain
#             text ("1.12. "Secondary License"") head their own sections
MANIFEST, VECTORS, CHUNKS = "manifest.json", "vectors.npy", "chunks.json"


@dataclass(frozen=True)
class IndexKey:
    """What stored vectors depend on: reuse them only if all of it is unchanged."""

    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    format: int = VERSION  # how documents are split into chunks (bumped when that changes)


@dataclass
class DocRecord:
    """One indexed document: its content hash, chunks and their vectors (same order)."""

    entry: str
    sha256: str
    chunks: list[Document]
    vectors: np.ndarray  # float32 (len(chunks), dimension)
    terms: list[list[str]]  # BM25 terms per chunk (keywords.terms of its context text)
    fetched_at: float | None = None  # epoch seconds of the last fetch that confirmed this copy
    etag: str | None = None  # a URL's validators, sent back for a conditional fetch
    last_modified: str | None = None

    @property
    def title(self) -> str | None:
        return self.chunks[0].metadata.get("title") if self.chunks else None


def writable_dir(path: Path) -> bool:
    """Create `path` if needed and check a file can be written there."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        return True
    except OSError as exc:
        log.warning("index folder %s is not writable (%s): running without persistence", path, exc)
        return False


def save(index_dir: Path, key: IndexKey, records: list[DocRecord]) -> None:
    chunks, ranges, start = [], [], 0
    for rec in records:
        # one string per chunk, not a JSON list: loading 10k chunks' lists made 1.6M transient
        # str objects (a 141 MB peak that the allocator kept as RSS)
        chunks += [{"text": c.page_content, "metadata": c.metadata, "terms": " ".join(t)}
                   for c, t in zip(rec.chunks, rec.terms)]
        doc = {"entry": rec.entry, "sha256": rec.sha256, "start": start,
               "end": start + len(rec.chunks)}
        for name in _OPTIONAL_DOC_TYPES:
            if getattr(rec, name) is not None:
                doc[name] = getattr(rec, name)
        ranges.append(doc)
        start += len(rec.chunks)
    vectors = (np.concatenate([r.vectors for r in records]) if records
               else np.zeros((0, key.dimension), dtype=np.float32)).astype(np.float32)
    buf = io.BytesIO()
    np.save(buf, vectors, allow_pickle=False)
    vectors_bytes = buf.getvalue()
    chunks_bytes = json.dumps(chunks, ensure_ascii=False).encode("utf-8")
    manifest = {
        "format": FORMAT, "version": VERSION, "embedding_model": key.embedding_model,
        "dimension": key.dimension, "chunk_size": key.chunk_size,
        "chunk_overlap": key.chunk_overlap, "chunk_count": len(chunks),
        "files": {VECTORS: _sha(vectors_bytes), CHUNKS: _sha(chunks_bytes)},
        "documents": ranges,
    }
    index_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(index_dir / VECTORS, vectors_bytes)
    _atomic_write(index_dir / CHUNKS, chunks_bytes)
    _atomic_write(index_dir / MANIFEST, json.dumps(manifest, indent=1).encode("utf-8"))


def load(index_dir: Path, key: IndexKey) -> dict[str, DocRecord]:
    """The stored documents by entry; {} when nothing is stored or it was built for another
    IndexKey; IndexStoreError (with the reason) when the files fail validation."""
    if not (index_dir / MANIFEST).is_file():
        return {}
    manifest = _json(index_dir / MANIFEST)
    _check_manifest(manifest)
    stored = IndexKey(manifest["embedding_model"], manifest["dimension"],
                      manifest["chunk_size"], manifest["chunk_overlap"])
    if stored != key:
        log.info("stored index was built for %s, now %s: re-embedding everything", stored, key)
        return {}
    vectors_bytes = _read(index_dir / VECTORS, manifest["files"][VECTORS])
    chunks_bytes = _read(index_dir / CHUNKS, manifest["files"][CHUNKS])
    try:
        vectors = np.load(io.BytesIO(vectors_bytes), allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise IndexStoreError(f"{VECTORS} is not a valid .npy array: {exc}") from None
    count = manifest["chunk_count"]
    if vectors.dtype != np.float32 or vectors.shape != (count, key.dimension):
        raise IndexStoreError(f"{VECTORS} has dtype {vectors.dtype} shape {vectors.shape}, "
                              f"expected float32 ({count}, {key.dimension})")
    if count and (not np.isfinite(vectors).all()
                  or np.abs(np.linalg.norm(vectors, axis=1) - 1).max() > 1e-3):
        raise IndexStoreError(f"{VECTORS} holds vectors that are not unit length")
    chunks, terms = _chunks(json.loads(chunks_bytes.decode("utf-8")), count)
    records, expected_start = {}, 0
    for doc in manifest["documents"]:
        start, end = doc["start"], doc["end"]
        if start != expected_start or not start < end <= count:
            raise IndexStoreError(f"document ranges are not contiguous at {doc['entry']!r}")
        part = chunks[start:end]
        if any(c.metadata.get("source") != doc["entry"] for c in part):
            raise IndexStoreError(f"chunks {start}..{end} do not belong to {doc['entry']!r}")
        records[doc["entry"]] = DocRecord(doc["entry"], doc["sha256"], part, vectors[start:end],
                                          terms[start:end], **{
                                              k: doc.get(k) for k in _OPTIONAL_DOC_TYPES})
        expected_start = end
    if expected_start != count:
        raise IndexStoreError(f"document ranges cover {expected_start} of {count} chunks")
    return records


# ---------------------------------------------------------------- validation helpers
_MANIFEST_TYPES = {"format": str, "version": int, "embedding_model": str, "dimension": int,
                   "chunk_size": int, "chunk_overlap": int, "chunk_count": int, "files": dict,
                   "documents": list}
_DOC_TYPES = {"entry": str, "sha256": str, "start": int, "end": int}
_OPTIONAL_DOC_TYPES = {"fetched_at": (int, float), "etag": str, "last_modified": str}


def _check_manifest(manifest) -> None:
    if not isinstance(manifest, dict):
        raise IndexStoreError(f"{MANIFEST} is not a JSON object")
    for name, kind in _MANIFEST_TYPES.items():
        if not isinstance(manifest.get(name), kind) or isinstance(manifest.get(name), bool):
            raise IndexStoreError(f"{MANIFEST}: {name!r} missing or not {kind.__name__}")
    if manifest["format"] != FORMAT or manifest["version"] != VERSION:
        raise IndexStoreError(f"{MANIFEST}: format {manifest['format']!r} v{manifest['version']}, "
                              f"expected {FORMAT!r} v{VERSION}")
    files = manifest["files"]
    if not all(isinstance(files.get(n), str) for n in (VECTORS, CHUNKS)):
        raise IndexStoreError(f"{MANIFEST}: 'files' must give the sha256 of {VECTORS} and {CHUNKS}")
    for doc in manifest["documents"]:
        if not isinstance(doc, dict) or any(
                not isinstance(doc.get(k), t) or isinstance(doc.get(k), bool)
                for k, t in _DOC_TYPES.items()):
            raise IndexStoreError(f"{MANIFEST}: bad document record {doc!r}")
        for k, t in _OPTIONAL_DOC_TYPES.items():
            if doc.get(k) is not None and (not isinstance(doc[k], t) or isinstance(doc[k], bool)):
                raise IndexStoreError(f"{MANIFEST}: bad {k!r} in document record {doc['entry']!r}")


def _chunks(data, count: int) -> tuple[list[Document], list[list[str]]]:
    if not isinstance(data, list) or len(data) != count:
        raise IndexStoreError(f"{CHUNKS} must be a list of {count} chunks")
    chunks, terms = [], []
    for item in data:
        if not (isinstance(item, dict) and isinstance(item.get("text"), str)
                and isinstance(item.get("metadata"), dict)
                and isinstance(item["metadata"].get("source"), str)
                and (isinstance(item.get("terms"), str)
                     or isinstance(item.get("terms"), list) and all(isinstance(t, str) for t in item["terms"]))):
            raise IndexStoreError(f"{CHUNKS}: bad chunk record")
        meta = {k: v for k, v in item["metadata"].items()
                if k in ("source", "title", "section", "page", "removed") and isinstance(v, (str, int))}
        chunks.append(Document(page_content=item["text"], metadata=meta))
        listed = item["terms"].split() if isinstance(item["terms"], str) else item["terms"]
        terms.append([sys.intern(t) for t in listed])  # one str per distinct term
    return chunks, terms


def _json(path: Path):
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, OSError) as exc:
        raise IndexStoreError(f"{path.name} is not readable JSON: {exc}") from None


def _read(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IndexStoreError(f"{path.name} is not readable: {exc}") from None
    if _sha(data) != sha256:
        raise IndexStoreError(f"{path.name} does not match the sha256 in {MANIFEST} "
                              "(torn write or tampered)")
    return data


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
