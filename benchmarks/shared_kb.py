"""The shared knowledge base (KNOWLEDGE_STORE=postgres) against the local store: BENCH_STAGE=shared.

what=query (in-process, the served ~10k-chunk knowledge base of .cache/kb10k, MiniLM):
  - query latency, p50/p95 over the same questions, of (a) the in-memory index every replica
    answers from with either store (FAISS + BM25, fused), read from the local INDEX_DIR files
    and read from a published PostgreSQL version; (b) the same hybrid search done inside
    PostgreSQL (pgvector HNSW for the dense side, PostgreSQL full text for the keyword side,
    fused the same way), the alternative design. Search alone (query vector given) and with
    the query's embedding (what a request pays);
  - publishing the 10k chunks as a version, and reading it back (a new replica's knowledge
    start-up) against loading the local index files.
what=replicas (three `python -m ovms_host` per store, tiny-random + MiniLM, 100 documents):
  - chunks embedded for 3 replicas (postgres: once in all; local: each replica embeds all);
  - time from a document edit until every replica answers from it (5 edits, median and max);
  - a fourth replica's start-up to ready (postgres: reads the published version; local: embeds
    everything; local with a persisted index: reads its files).
"""
from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np

from .common import child_args, emit

QUERIES, WARMUP = 200, 20
REPEATS = 3  # each query list is run this many times; percentiles over all runs
REPLICA_DOCS, REPLICA_DOC_CHARS = 100, 4000
EDITS = 5


def percentiles(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {"p50_ms": round(statistics.median(ms), 2),
            "p95_ms": round(ms[max(0, int(0.95 * len(ms)) - 1)], 2), "n": len(ms)}


def questions(n: int = QUERIES + WARMUP, seed: int = 25) -> list[str]:
    """Lines of the standard library's source as queries: they share terms with the chunks."""
    from .corpus import corpus_lines

    lines = [l.strip() for l, _ in zip(corpus_lines(), range(200_000)) if len(l.strip()) > 30]
    rng = random.Random(seed)
    return rng.sample(lines, n)


class CachedQueries:
    """The real embeddings for documents; queries answered from a precomputed table (the
    search-only figure), counting nothing else."""

    def __init__(self, inner, table: dict[str, list[float]]):
        self.inner, self.table = inner, table

    @property
    def dimension(self):
        return self.inner.dimension

    def embed_query(self, text):
        return self.table[text]

    def embed_documents(self, texts):
        return self.inner.embed_documents(texts)


# --------------------------------------------------------------------------- in the database
DENSE_SQL = ("SELECT sha256, seq, 1 - (embedding::vector({d}) <=> %(q)s) AS cosine FROM ragbot_chunks "
             "WHERE index_key = %(key)s ORDER BY embedding::vector({d}) <=> %(q)s LIMIT %(n)s")
# any of the query's terms (OR), as BM25 scores them; plainto_tsquery alone would demand all
KEYWORD_SQL = ("SELECT sha256, seq, ts_rank_cd(to_tsvector('english', text), q.query) AS rank, "
               "1 - (embedding::vector({d}) <=> %(q)s) AS cosine "
               "FROM ragbot_chunks, (SELECT NULLIF(replace(plainto_tsquery('english', %(text)s)::text, "
               "'&', '|'), '')::tsquery AS query) q "
               "WHERE index_key = %(key)s AND to_tsvector('english', text) @@ q.query "
               "ORDER BY rank DESC LIMIT %(n)s")


def db_indexes(conn, key: str, dimension: int) -> dict:
    """The HNSW and full-text indexes searching in PostgreSQL needs (the product creates none)."""
    timings = {}
    t0 = time.perf_counter()
    conn.execute(f"CREATE INDEX IF NOT EXISTS bench_hnsw ON ragbot_chunks USING hnsw "
                 f"((embedding::vector({dimension})) vector_cosine_ops) WHERE index_key = '{key}'")
    timings["hnsw_build_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    conn.execute("CREATE INDEX IF NOT EXISTS bench_fts ON ragbot_chunks USING gin "
                 "(to_tsvector('english', text))")
    timings["fts_build_s"] = round(time.perf_counter() - t0, 2)
    conn.execute("ANALYZE ragbot_chunks")
    return timings


def db_search(conn, key: str, dimension: int, text: str, vector, n: int = 20) -> list:
    """Hybrid search inside PostgreSQL: HNSW top n + full-text top n, fused by reciprocal rank."""
    from ragbot.knowledge.index import RRF_K

    args = {"q": vector, "key": key, "n": n, "text": text}
    dense = conn.execute(DENSE_SQL.format(d=dimension), args).fetchall()
    keyword = conn.execute(KEYWORD_SQL.format(d=dimension), args).fetchall()
    fused: dict = {}
    for ranking in ([(r[0], r[1]) for r in dense], [(r[0], r[1]) for r in keyword]):
        for rank, row in enumerate(ranking, 1):
            fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
    return sorted(fused, key=lambda r: -fused[r])[:n]


def measure_query(embed_dir: Path) -> dict:
    from ragbot.knowledge import index_store
    from ragbot.knowledge.embeddings import load_embeddings
    from ragbot.knowledge.index import index_from_records
    from ragbot.knowledge.ingest import index_key
    from ragbot.knowledge.rebuild import RebuildReport
    from ragbot.knowledge.postgres import contents, schema, versions
    from ragbot.knowledge.postgres.dsn import connect

    from probes.postgres import Postgres

    from .served import KB_DIR

    embeddings = load_embeddings(embed_dir, "all-MiniLM-L6-v2")
    key = index_key(embeddings, "all-MiniLM-L6-v2", 1000, 200)
    out: dict = {"key": schema.store_key(key)}
    t0 = time.perf_counter()
    records = list(index_store.load(KB_DIR / "index", key).values())
    if not records:
        return {"error": f"no persisted index in {KB_DIR / 'index'} (run reindex kb_index first)"}
    local = index_from_records(records, embeddings, time.monotonic())
    out["local_load_s"] = round(time.perf_counter() - t0, 3)
    out["chunks"] = local.chunk_count

    texts = questions()
    embed_times, table = [], {}
    for q in texts:
        t = time.perf_counter()
        table[q] = embeddings.embed_query(q)
        embed_times.append(time.perf_counter() - t)
    out["query_embedding"] = percentiles(embed_times[WARMUP:])

    def timed(search, with_embedding: bool) -> dict:
        samples = []
        for r in range(REPEATS):
            for i, q in enumerate(texts):
                t = time.perf_counter()
                search(q)
                if i >= WARMUP:
                    samples.append(time.perf_counter() - t + (embed_times[i] if with_embedding else 0))
        return percentiles(samples)

    cached = CachedQueries(embeddings, table)
    local_cached = replace(local, embeddings=cached)
    out["in_memory_local"] = {"search": timed(lambda q: local_cached.search(q, 20, "hybrid", 20), False),
                              "with_embedding": timed(lambda q: local_cached.search(q, 20, "hybrid", 20), True)}

    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        pg = Postgres(Path(tmp) / "data")
        try:
            dsn = pg.create_database("bench")
            _schema(dsn)
            conn = connect(dsn, "ragbot bench")
            skey = schema.store_key(key)
            t0 = time.perf_counter()
            for record in records:
                contents.put(conn, skey, record, "bench")
            report = RebuildReport(entries=[r.entry for r in records], documents=len(records),
                                   chunks=local.chunk_count)
            version = versions.publish(conn, skey, records, report, writer="bench", instance="bench")
            out["publish_s"] = round(time.perf_counter() - t0, 2)
            t0 = time.perf_counter()
            from ragbot.knowledge.index import KnowledgeIndex

            shared = versions.read_index(conn, skey, version, KnowledgeIndex.empty(), cached, key.dimension)
            out["postgres_load_s"] = round(time.perf_counter() - t0, 3)
            same = all(a.page_content == b.page_content for a, b in zip(shared.chunks, local.chunks))
            out["postgres_loaded_same_chunks"] = same and shared.chunk_count == local.chunk_count
            out["in_memory_postgres"] = {
                "search": timed(lambda q: shared.search(q, 20, "hybrid", 20), False),
                "with_embedding": timed(lambda q: shared.search(q, 20, "hybrid", 20), True)}
            out["db_indexes"] = db_indexes(conn, skey, key.dimension)
            vectors = {q: np.asarray(v, dtype=np.float32) for q, v in table.items()}
            out["in_database_hnsw_fts"] = {
                "search": timed(lambda q: db_search(conn, skey, key.dimension, q, vectors[q]), False),
                "with_embedding": timed(lambda q: db_search(conn, skey, key.dimension, q, vectors[q]), True)}
            out["in_database_dense_only"] = {"search": timed(
                lambda q: conn.execute(DENSE_SQL.format(d=key.dimension),
                                       {"q": vectors[q], "key": skey, "n": 20}).fetchall(), False)}
            out["hnsw_recall_at_20"] = _recall(conn, skey, key.dimension, local_cached, texts[:50], vectors)
            conn.close()
        finally:
            pg.close()
    return out


def _schema(dsn: str) -> None:
    from ragbot.knowledge.postgres import schema
    from ragbot.knowledge.postgres.dsn import connect_raw

    with connect_raw(dsn, "ragbot bench") as conn:
        schema.ensure(conn)


def _recall(conn, key, dimension, index, texts, vectors) -> float:
    """Share of the exact dense top 20 (FAISS flat) that HNSW returns."""
    found = total = 0
    for q in texts:
        exact = {(h.doc.page_content) for h in index.search(q, 20, "dense", 20)}
        rows = conn.execute("SELECT text FROM ragbot_chunks WHERE index_key = %(key)s "
                            f"ORDER BY embedding::vector({dimension}) <=> %(q)s LIMIT 20",
                            {"q": vectors[q], "key": key}).fetchall()
        found += len(exact & {r[0] for r in rows})
        total += len(exact)
    return round(found / total, 3) if total else None


# --------------------------------------------------------------------------- three hosts
def _get(url: str) -> dict | str:
    with urllib.request.urlopen(url, timeout=10) as r:
        body = r.read().decode()
    return json.loads(body) if body.startswith("{") else body


def _embedded(host) -> float:
    import re

    text = _get(host.rest_url + "/metrics")
    return float(re.search(r"^ragbot_index_embedded_chunks_total (\S+)$", text, re.M).group(1))


def _rebuilt_at(host) -> str | None:
    status = _get(host.rest_url + "/v2/models/python_model/status")
    version = (status.get("store") or {}).get("version")
    if version:
        return str(version["id"])
    last = status.get("last_rebuild") or {}
    return f"{last.get('finished')}/{last.get('changed')}"


def measure_replicas() -> dict:
    from probes.host import start_host
    from probes.knowledge import SERVABLE, rag_env
    from probes.postgres import Postgres

    from .reindex import write_docs

    out = {}
    with tempfile.TemporaryDirectory(prefix="bench-replicas-") as tmp:
        pg = Postgres(Path(tmp) / "pgdata")
        try:
            for store in ("postgres", "local"):
                folder = Path(tmp) / store
                folder.mkdir()
                docs = write_docs(folder, REPLICA_DOCS, REPLICA_DOC_CHARS)
                extra = {"LLM_BACKEND": "genai", "EMBEDDING_MODEL": "all-MiniLM-L6-v2"}
                if store == "postgres":
                    extra.update(KNOWLEDGE_STORE="postgres", KNOWLEDGE_DSN=pg.create_database("replicas"))

                def env(name, index=True):
                    return rag_env(docs, KNOWLEDGE_REPLICA=name, **extra,
                                   INDEX_DIR=str(folder / f"index-{name}") if index else "off")

                t0 = time.perf_counter()
                hosts = [start_host(SERVABLE / "config.json", env=env(f"r{i}")) for i in range(3)]
                try:
                    for h in hosts:
                        h.wait_ready(timeout=900)
                    row = {"ready_3_s": round(time.perf_counter() - t0, 1),
                           "embedded_chunks_3_replicas": sum(_embedded(h) for h in hosts)}
                    reach = []
                    for edit in range(EDITS):
                        before = [_rebuilt_at(h) for h in hosts]
                        doc = folder / f"doc{10 + edit:03d}.txt"
                        changed = time.perf_counter()
                        doc.write_text(doc.read_text() + f"\nedit {edit}\n", encoding="utf-8")
                        pending = set(range(3))
                        while pending and time.perf_counter() - changed < 120:
                            pending = {i for i in pending if _rebuilt_at(hosts[i]) == before[i]}
                            time.sleep(0.02)
                        reach.append(time.perf_counter() - changed if not pending else None)
                        time.sleep(1.0)
                    row["change_to_all_s"] = {"median": _r(statistics.median([r for r in reach if r])),
                                              "max": _r(max(r for r in reach if r)),
                                              "runs": [_r(r) for r in reach]}
                    row["embedded_after_edits"] = sum(_embedded(h) for h in hosts)
                    cold = [("fourth_ready_s", env("r4", index=False))]
                    if store == "local":
                        cold.append(("fourth_ready_persisted_s", env("r0")))  # r0's index files
                    for name, fourth_env in cold:
                        t0 = time.perf_counter()
                        with start_host(SERVABLE / "config.json", env=fourth_env) as fourth:
                            fourth.wait_ready(timeout=900)
                            row[name] = round(time.perf_counter() - t0, 1)
                            row[name.replace("_s", "_embedded")] = _embedded(fourth)
                    out[store] = row
                finally:
                    for h in hosts:
                        h.stop()
        finally:
            pg.close()
    return out


def _r(x):
    return None if x is None else round(x, 2)


def main() -> None:
    a = child_args()
    if a.get("what") == "query":
        emit(measure_query(Path(a["embed_dir"])))
    else:
        emit(measure_replicas())


if __name__ == "__main__":
    main()
