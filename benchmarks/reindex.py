"""incremental_vs_full_reindex_time: ragbot's Indexer over 100 local text documents
(all-MiniLM-L6-v2, OpenVINO). Full = a fresh Indexer (nothing reusable) building all of them;
incremental = the same Indexer rebuilding after 1 of the 100 documents changed (only its chunks
are embedded; the rest are matched by sha256). Best of 2 for each side, measured back to back.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from .common import child_args, emit

N_DOCS, DOC_CHARS = 100, 4000  # ~5 chunks each at 1000/200


def write_docs(folder: Path, n: int = N_DOCS, chars: int = DOC_CHARS) -> Path:
    from .embed_bench import chunks

    pieces = chunks(n * (chars // 1000))
    per = chars // 1000
    names = []
    for i in range(n):
        name = f"doc{i:03d}.txt"
        (folder / name).write_text(f"Document {i}\n\n" + "".join(pieces[i * per:(i + 1) * per]),
                                   encoding="utf-8")
        names.append(name)
    docs = folder / "docs.txt"
    docs.write_text("\n".join(names) + "\n", encoding="utf-8")
    return docs


def indexer_for(docs: Path, embeddings, index_dir: Path | None = None):
    """The Indexer the host would build for this docs.txt (Settings' defaults, MiniLM)."""
    from ragbot.knowledge.ingest import Indexer
    from ragbot.knowledge.local_store import LocalRecords
    from ragbot.settings import Settings

    env = {"EMBEDDING_MODEL": "all-MiniLM-L6-v2", "DOCS_FILE": str(docs),
           "INDEX_DIR": str(index_dir) if index_dir else "off"}
    settings = Settings.from_env(Path(docs).parent, env)
    return Indexer.from_settings(settings, embeddings, LocalRecords(settings.index_dir))


def measure(embeddings, n_docs: int = N_DOCS, chars: int = DOC_CHARS, repeats: int = 2) -> dict:
    full, incr, reports = [], [], {}
    with tempfile.TemporaryDirectory(prefix="bench-reindex-") as tmp:
        docs = write_docs(Path(tmp), n_docs, chars)
        embeddings.embed_documents(["warm-up"] * 4)
        for r in range(repeats):
            indexer = indexer_for(docs, embeddings)
            t0 = time.perf_counter()
            indexer.rebuild()
            full.append(time.perf_counter() - t0)
            reports["full"] = indexer.last_report
            changed = Path(tmp) / "doc007.txt"
            changed.write_text(changed.read_text() + f"\nedit {r}\n", encoding="utf-8")
            t0 = time.perf_counter()
            indexer.rebuild()
            incr.append(time.perf_counter() - t0)
            reports["incremental"] = indexer.last_report
    f, i = min(full), min(incr)
    return {"ratio": round(i / f, 3), "full_s": round(f, 3), "incremental_s": round(i, 3),
            "documents": reports["full"].documents, "chunks": reports["full"].chunks,
            "incremental_embedded_chunks": reports["incremental"].embedded_chunks,
            "incremental_changed": len(reports["incremental"].changed),
            "runs_full_s": [round(x, 3) for x in full], "runs_incremental_s": [round(x, 3) for x in incr]}


def kb_index(embed_dir: Path) -> dict:
    """Build (or reuse) the persisted index of the served ~10k-chunk knowledge base, exactly as
    the host's Settings will key it (all-MiniLM-L6-v2, chunks 1000/200)."""
    from ragbot.knowledge.embeddings import load_embeddings

    from .served import KB_DIR, knowledge_base

    indexer = indexer_for(knowledge_base(), load_embeddings(embed_dir, "all-MiniLM-L6-v2"), KB_DIR / "index")
    indexer.rebuild()
    r = indexer.last_report
    return {"chunks": r.chunks, "embedded_chunks": r.embedded_chunks, "seconds": round(r.seconds, 1)}


def main() -> None:
    a = child_args()
    from ragbot.knowledge.embeddings import load_embeddings

    if a.get("what") == "kb_index":
        emit(kb_index(Path(a["embed_dir"])))
        return

    if a.get("embed_dir"):
        embed_dir = Path(a["embed_dir"])
    else:
        from probes.models import minilm_dir
        embed_dir = minilm_dir()
    emit(measure(load_embeddings(embed_dir, "all-MiniLM-L6-v2"),
                 a.get("n_docs", N_DOCS), a.get("chars", DOC_CHARS)))


if __name__ == "__main__":
    main()
