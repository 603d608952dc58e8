"""The shared knowledge base's bench rows (BENCH_STAGE=shared): their arithmetic, and the
percentiles they rest on, without a model or a database."""
from __future__ import annotations

from benchmarks.run import shared_goals
from benchmarks.shared_kb import percentiles


def test_percentiles_in_milliseconds():
    p = percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert p == {"p50_ms": 50.5, "p95_ms": 95.0, "n": 100}


def test_each_row_is_the_postgres_figure_with_local_beside_it():
    o = {"shared_kb": {
        "query": {"in_memory_local": {"search": {"p95_ms": 2.0}, "with_embedding": {"p95_ms": 9.0}},
                  "in_memory_postgres": {"search": {"p95_ms": 2.1}, "with_embedding": {"p95_ms": 9.1}},
                  "in_database_hnsw_fts": {"search": {"p95_ms": 30.0}, "with_embedding": {"p95_ms": 37.0}},
                  "postgres_load_s": 1.5, "local_load_s": 1.2, "chunks": 10855},
        "replicas": {"postgres": {"embedded_chunks_3_replicas": 565, "change_to_all_s": {"median": 1.4},
                                  "fourth_ready_s": 9.0, "fourth_ready_embedded": 0},
                     "local": {"embedded_chunks_3_replicas": 1695, "change_to_all_s": {"median": 1.2},
                               "fourth_ready_s": 40.0, "fourth_ready_embedded": 565}}}}
    g = shared_goals(o)
    assert g["shared_embedded_3_replicas_vs_local"]["value"] == 0.33
    assert g["shared_change_to_all_3_s"]["value"] == 1.4
    assert g["shared_change_to_all_3_s"]["raw"]["local_median"] == 1.2
    q = g["query_p95_ms_10k_postgres"]
    assert q["value"] == 9.1 and q["raw"]["local_in_memory"] == 9.0 and q["raw"]["in_database_hnsw_fts"] == 37.0
    n = g["new_replica_ready_s_postgres"]
    assert n["value"] == 9.0 and n["raw"]["local_cold_s"] == 40.0 and n["raw"]["postgres_embedded"] == 0
    assert shared_goals({})["query_p95_ms_10k_postgres"]["value"] is None  # a failed stage: no crash
