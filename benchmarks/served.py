"""Served measurements through the real host (`python -m ovms_host` via probes.start_host,
KServe gRPC stream), LLM_BACKEND=genai, INT4 preset folder, all-MiniLM-L6-v2 embeddings and a
knowledge base of ~10k chunks (benchmarks/.cache/kb10k, index persisted in INDEX_DIR there so
only the first run embeds it).

- served_vs_inprocess_decode: the SAME RagService (same env, same questions, genai backend)
  first in-process (`benchmarks.rag_inprocess`, a child process) then through the host, back to
  back. Both use one clock: decode tok/s = (completion_tokens - 1) / (first -> last text chunk),
  completion_tokens from the end_signal usage; every request asks `ignore_eos`, so each is
  exactly max_new_tokens (a random model would stop anywhere).
- concurrency8_vs_single_throughput: 1 gRPC stream, then 8 concurrent streams (distinct
  questions, so distinct retrieved context: no shared prefix), fixed max_new_tokens in the
  pre_prompt JSON; aggregate tok/s = sum(completion_tokens) / (first send -> last end).
  Beside it the bound it is held to: 8 prompts prefilled one after another (8 × the single
  request's TTFT) + ONE batched decode of 128 steps (8 streams with short prompts, retrieval
  off: max over streams of first -> last token), measured in the same host;
  bound = 8 × 128 / (8 × TTFT_single + decode_batched) / single tok/s; of_bound = value / bound.
- rss_mb_served_int4: RSS of the host (and its children) after all of the above, with its
  breakdown (benchmarks/rss_breakdown.py: the parts loaded one by one in a child).
- SmolLM2-135M (INT8, INT4) through the host: decode, TTFT, request at the RAG prompt it
  retrieves, and rss_mb_served_smollm2 (INT4).
- incremental_vs_full_reindex_time: `benchmarks.reindex` (child; ragbot's Indexer, 100 docs).
"""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from .paths import CACHE

REPO = Path(__file__).resolve().parent.parent
NEW_TOKENS = 128
KB_DIR = CACHE / "kb10k"
KB_DOCS, KB_DOC_CHARS = 100, 80_000  # 100 files x 80k chars, 1000/200 splitter -> ~10k chunks
TOPICS = ["sockets", "threads", "decimal rounding", "email headers", "zip files", "unicode data",
          "the tokenizer", "http cookies", "the logging handlers", "asyncio tasks", "tarfile",
          "xml parsing", "the pickle protocol", "locale settings", "calendar", "random numbers",
          "subprocess pipes", "shutil copies", "string templates", "argparse options",
          "datetime zones", "json encoding", "csv dialects", "hash functions"]


def questions(n: int, offset: int = 0) -> list[str]:
    """Distinct questions (each retrieves other chunks, so prompts share no prefix)."""
    return [f"Question {offset + i}: how does the code handle {TOPICS[(offset + i) % len(TOPICS)]}?"
            for i in range(n)]


def knowledge_base(folder: Path = KB_DIR) -> Path:
    """Deterministic ~10k-chunk knowledge base (stdlib sources); written once, then reused (the
    persisted index stays valid because the files' hashes do not change)."""
    docs = folder / "docs.txt"
    if docs.exists():
        return docs
    from .corpus import corpus_lines

    folder.mkdir(parents=True, exist_ok=True)
    lines, names = corpus_lines(), []
    for i in range(KB_DOCS):
        text, size = [], 0
        while size < KB_DOC_CHARS:
            line = next(lines, None)
            if line is None:
                lines = corpus_lines()  # corpus exhausted: wrap (stays deterministic)
                continue
            text.append(line)
            size += len(line) + 1
        name = f"doc{i:03d}.txt"
        (folder / name).write_text(f"Document {i}\n\n" + "\n".join(text), encoding="utf-8")
        names.append(name)
    docs.write_text("\n".join(names) + "\n", encoding="utf-8")
    return docs


def rag_env(model_dir: str, embed_dir: str, ov_config: dict, backend: str = "genai") -> dict:
    from .common import OV_CACHE_DIR

    return {"SELECTED_MODEL": "tiny-llama-1b-chat", "LLM_MODEL_DIR": model_dir,
            "EMBEDDING_MODEL": "all-MiniLM-L6-v2", "EMBEDDING_MODEL_DIR": embed_dir,
            "DOCS_FILE": str(knowledge_base()), "INDEX_DIR": str(KB_DIR / "index"),
            "MAX_NEW_TOKENS": str(NEW_TOKENS), "LLM_BACKEND": backend, "SEED": "7",
            "OV_CONFIG": json.dumps({"CACHE_DIR": OV_CACHE_DIR, **ov_config})}


def decode_figures(t0: float, arrivals: list[float], end_t: float, usage: dict,
                   finish_reason=None) -> dict:
    """The per-token clock shared by the served and in-process sides."""
    n = usage.get("completion_tokens") or 0
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0
    return {"ttft_s": round(arrivals[0] - t0, 3) if arrivals else None,
            "request_s": round(end_t - t0, 3), "completion_tokens": n,
            "prompt_tokens": usage.get("prompt_tokens"), "chunks": len(arrivals),
            "finish_reason": finish_reason,
            "decode_tok_s": round((n - 1) / span, 2) if span > 0 and n > 1 else None,
            "decode_span_s": round(span, 3), "_t0": t0, "_end": end_t}


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


def stream_once(url: str, question: str, new_tokens: int = NEW_TOKENS, timeout: float = 900,
                retrieval: bool = True) -> dict:
    from probes.kserve import ask

    # exactly new_tokens each (a random model stops anywhere; the bound counts 8 × 128)
    request = {"question": question, "max_new_tokens": new_tokens, "ignore_eos": True}
    if not retrieval:
        request["retrieval"] = False
    answer = ask(url, request, timeout=timeout)
    last = answer.last
    if last.kind == "error":
        raise RuntimeError(last.payload)
    if last.kind == "fail":  # the servable reports failures in-band, in end_signal
        raise RuntimeError(f"{last.payload['error']['code']}: {last.payload['error']['message']}")
    end = last.payload
    return decode_figures(answer.started, answer.arrivals, last.at, end.get("usage", {}),
                          end.get("finish_reason"))


def concurrent(url: str, qs: list[str], new_tokens: int = NEW_TOKENS, retrieval: bool = True) -> dict:
    """len(qs) gRPC streams at once; aggregate tok/s from the tokens actually generated."""
    results: list = [None] * len(qs)

    def one(i):
        try:
            results[i] = stream_once(url, qs[i], new_tokens, retrieval=retrieval)
        except Exception as e:  # noqa: BLE001 - reported
            results[i] = {"error": f"{type(e).__name__}: {e}"}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(qs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return aggregate(results)


def aggregate(results: list[dict]) -> dict:
    ok = [r for r in results if "error" not in r]
    if not ok:
        return {"streams": len(results), "errors": [r.get("error") for r in results]}
    t0, t1 = min(r["_t0"] for r in ok), max(r["_end"] for r in ok)
    tokens = sum(r["completion_tokens"] for r in ok)
    return {"streams": len(results), "failed": len(results) - len(ok), "wall_s": round(t1 - t0, 3),
            "completion_tokens": tokens, "aggregate_tok_s": round(tokens / (t1 - t0), 2),
            "prompt_tokens_mean": round(sum(r["prompt_tokens"] or 0 for r in ok) / len(ok)),
            "ttft_s_max": max(r["ttft_s"] or 0 for r in ok),
            "decode_span_s_max": max(r["decode_span_s"] or 0 for r in ok),
            "finish_reasons": sorted({str(r["finish_reason"]) for r in ok})}


def measure_host(env: dict, n_concurrent: int = 8, concurrency: bool = True) -> dict:
    import psutil

    from probes.host import start_host

    t0 = time.perf_counter()
    out: dict = {}
    with start_host(REPO / "servable_stream" / "config.json", env=env) as host:
        host.wait_ready(model="python_model", timeout=1800)
        out["load_s"] = round(time.perf_counter() - t0, 1)
        stream_once(host.grpc_url, "warm-up: what is in the documents?", 8)
        runs = [stream_once(host.grpc_url, q) for q in questions(2, offset=0)]
        out["runs"] = [_public(r) for r in runs]
        out["best"] = _public(max(runs, key=lambda r: r["decode_tok_s"] or 0))
        if concurrency:
            out["single"] = aggregate([stream_once(host.grpc_url, questions(1, offset=2)[0])])
            out["concurrent"] = concurrent(host.grpc_url, questions(n_concurrent, offset=3))
            # the bound's decode half: one batch of n streams, short prompts (no passages)
            out["batched_decode"] = concurrent(host.grpc_url, questions(n_concurrent, offset=40),
                                               retrieval=False)
        proc = psutil.Process(host.proc.pid)
        rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))
    out["rss_mb"] = round(rss / 2**20, 1)
    return out


def concurrency_bound(single: dict, batched: dict, n: int = 8) -> dict:
    """What 2 prefill-bound cores allow: n prefills one after another + one batched decode."""
    ttft, decode = single.get("ttft_s_max"), batched.get("decode_span_s_max")
    single_tok_s = single.get("aggregate_tok_s")
    if not (ttft and decode and single_tok_s):
        return {"bound": None}
    bound_s = n * ttft + decode
    bound_tok_s = n * NEW_TOKENS / bound_s
    return {"bound": round(bound_tok_s / single_tok_s, 2), "bound_tok_s": round(bound_tok_s, 2),
            "bound_s": round(bound_s, 2), "single_prefill_s": ttft, "batched_decode_128_s": decode,
            "batched_prompt_tokens_mean": batched.get("prompt_tokens_mean")}


def smollm2_env(model_dir: str, embed_dir: str, ov_config: dict) -> dict:
    return {**rag_env(model_dir, embed_dir, ov_config), "SELECTED_MODEL": "smollm2-135m-instruct"}


def measure_smollm2(paths: dict, embed_dir: str, ov_config: dict) -> dict:
    """SmolLM2 INT8 and INT4 through the host: decode, TTFT, request; RSS (INT4 = the key)."""
    out = {}
    for name in ("int8", "int4"):
        try:
            out[name] = measure_host(smollm2_env(paths[name], embed_dir, ov_config), concurrency=False)
        except Exception as e:  # noqa: BLE001 - reported
            out[name] = {"error": f"served SmolLM2 {name} failed: {type(e).__name__}: {str(e)[-800:]}"}
    return out


def _todo(what: str) -> dict:
    return {"value": None, "status": "todo", "reason": what}


def served_measurements(model_paths: dict, ov_config: dict | None = None,
                        embed_dir: str | None = None, child=None) -> dict:
    """Back to back: in-process RagService (child), then the host; then the re-index timing."""
    from .common import run_child

    child = child or (lambda m, a=None, **kw: run_child(m, a, **kw))
    env = rag_env(model_paths["ov-int4"], embed_dir, ov_config or {})
    out: dict = {}
    inproc = child("rag_inprocess", {"env": env}, timeout=3600)
    try:
        host = measure_host(env)
    except Exception as e:  # report, don't lose the rest of the bench
        host = {"error": f"served run failed: {type(e).__name__}: {str(e)[-1500:]}"}
    out["_detail"] = {"inprocess": inproc, "host": host}
    ref = (inproc.get("best") or {}).get("decode_tok_s")
    served = (host.get("best") or {}).get("decode_tok_s")
    out["served_vs_inprocess_decode"] = {
        "value": round(served / ref, 2) if served and ref else None,
        "raw": {"served_decode_tok_s": served, "inprocess_decode_tok_s": ref, "backend": "genai",
                "served_completion_tokens": (host.get("best") or {}).get("completion_tokens"),
                "inprocess_completion_tokens": (inproc.get("best") or {}).get("completion_tokens"),
                "served_prompt_tokens": (host.get("best") or {}).get("prompt_tokens"),
                "served_ttft_s": (host.get("best") or {}).get("ttft_s"),
                "inprocess_ttft_s": (inproc.get("best") or {}).get("ttft_s"),
                "inprocess_index_s": inproc.get("index_s"),
                "error": host.get("error") or inproc.get("error")}}
    s, m = host.get("single") or {}, host.get("concurrent") or {}
    out["concurrency8_vs_single_throughput"] = {
        "value": round(m["aggregate_tok_s"] / s["aggregate_tok_s"], 2)
        if m.get("aggregate_tok_s") and s.get("aggregate_tok_s") else None,
        "raw": {"single_tok_s": s.get("aggregate_tok_s"), "concurrent8_tok_s": m.get("aggregate_tok_s"),
                "concurrent8_wall_s": m.get("wall_s"), "concurrent8_ttft_s_max": m.get("ttft_s_max"),
                "prompt_tokens_mean": m.get("prompt_tokens_mean"),
                "single": s, "concurrent8": m, "backend": "genai (host, gRPC)",
                "max_new_tokens": NEW_TOKENS}}
    bound = concurrency_bound(s, host.get("batched_decode") or {})
    value = out["concurrency8_vs_single_throughput"]["value"]
    out["concurrency8_vs_single_throughput"]["raw"].update(
        bound=bound.get("bound"), of_bound=round(value / bound["bound"], 2) if value and bound.get("bound") else None,
        bound_detail=bound)
    breakdown = child("rss_breakdown", {"env": env}, timeout=3600)
    out["rss_mb_served_int4"] = {
        "value": host.get("rss_mb"),
        "raw": {"load_s": host.get("load_s"), "chunks_indexed": inproc.get("chunks"),
                "index_build_s_first_time": inproc.get("index_build_s_recorded"),
                "backend": "genai", "error": host.get("error"),
                "breakdown_mb": breakdown.get("parts_mb"), "breakdown_total_mb": breakdown.get("total_mb"),
                "host_and_grpc_mb": round(host["rss_mb"] - breakdown["total_mb"], 1)
                if host.get("rss_mb") and breakdown.get("total_mb") else None,
                "kv_cache_allocated_mb": breakdown.get("kv_cache_allocated_mb"),
                "not_loaded_import_cost": breakdown.get("not_loaded_import_cost"),
                "torch_imported": breakdown.get("torch_imported"), "breakdown_error": breakdown.get("error")}}
    rx = child("reindex", {}, timeout=1800)  # probes/models.py minilm_dir()
    out["incremental_vs_full_reindex_time"] = {
        "value": rx.get("ratio"), "raw": {k: v for k, v in rx.items() if k != "ratio"}}
    return out


SERVED_KEYS = ("served_vs_inprocess_decode", "concurrency8_vs_single_throughput",
               "rss_mb_served_int4", "incremental_vs_full_reindex_time")


def smollm2_served_goals(sm: dict) -> dict:
    int4 = sm.get("int4") or {}
    rows = {n: {**{k: (sm.get(n, {}).get("best") or {}).get(k)
                   for k in ("decode_tok_s", "ttft_s", "request_s", "prompt_tokens", "completion_tokens")},
                "rss_mb": sm.get(n, {}).get("rss_mb"), "error": sm.get(n, {}).get("error")}
            for n in ("int8", "int4")}
    return {"rss_mb_served_smollm2": {"value": int4.get("rss_mb"),
                                      "raw": {"model": "SmolLM2-135M INT4 (genai, host, gRPC)",
                                              "served": rows}}}


if __name__ == "__main__":  # re-run only the served part against the last results.json
    from .embed_bench import OV_DIR
    from .paths import RESULTS
    from .report import relative, update_readme

    res = json.loads(RESULTS.read_text())
    paths = {k: str(REPO / v) if not Path(v).is_absolute() else v
             for k, v in res["models"]["paths"].items()}
    props = {k: v for k, v in res["properties"]["chosen"].items() if k != "ATTENTION_BACKEND"}
    served = served_measurements(paths, props, str(OV_DIR))
    res["served"] = served
    for k in SERVED_KEYS:
        res["goals"][k] = served[k]
    res = relative(res)
    RESULTS.write_text(json.dumps(res, indent=2))
    update_readme(res)
    print(json.dumps({k: served[k] for k in SERVED_KEYS}, indent=2))
