"""Served measurements through the real host (`python -m ovms_host` via probes.start_host,
KServe gRPC stream), LLM_BACKEND=genai, INT4 preset folder, all-MiniLM-L6-v2 embeddings and a
knowledge base of ~10k chunks (benchmarks/.cache/kb10k, index persisted in INDEX_DIR there so
only the first run embeds it).

- served_vs_inprocess_decode: the SAME RagService (same env, same questions, genai backend)
  first in-process (`benchmarks.rag_inprocess`, a child process) then through the host, back to
  back. Both use one clock: decode tok/s = (completion_tokens - 1) / (first -> last text chunk),
  completion_tokens from the end_signal usage (a random model may stop early at EOS).
- concurrency8_vs_single_throughput: 1 gRPC stream, then 8 concurrent streams (distinct
  questions, so distinct retrieved context: no shared prefix), fixed max_new_tokens in the
  pre_prompt JSON; aggregate tok/s = sum(completion_tokens) / (first send -> last end).
- rss_mb_served_int4: RSS of the host (and its children) after all of the above.
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
            "_t0": t0, "_end": end_t}


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


def stream_once(url: str, question: str, new_tokens: int = NEW_TOKENS, timeout: float = 900) -> dict:
    from probes.kserve import ask

    answer = ask(url, {"question": question, "max_new_tokens": new_tokens}, timeout=timeout)
    last = answer.last
    if last.kind == "error":
        raise RuntimeError(last.payload)
    if last.kind == "fail":  # the servable reports failures in-band, in end_signal
        raise RuntimeError(f"{last.payload['error']['code']}: {last.payload['error']['message']}")
    end = last.payload
    return decode_figures(answer.started, answer.arrivals, last.at, end.get("usage", {}),
                          end.get("finish_reason"))


def concurrent(url: str, qs: list[str], new_tokens: int = NEW_TOKENS) -> dict:
    """len(qs) gRPC streams at once; aggregate tok/s from the tokens actually generated."""
    results: list = [None] * len(qs)

    def one(i):
        try:
            results[i] = stream_once(url, qs[i], new_tokens)
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
            "finish_reasons": sorted({str(r["finish_reason"]) for r in ok})}


def measure_host(env: dict, n_concurrent: int = 8) -> dict:
    import psutil

    from probes.host import start_host

    t0 = time.perf_counter()
    with start_host(REPO / "servable_stream" / "config.json", env=env) as host:
        host.wait_ready(model="python_model", timeout=1800)
        load_s = time.perf_counter() - t0
        stream_once(host.grpc_url, "warm-up: what is in the documents?", 8)
        runs = [stream_once(host.grpc_url, q) for q in questions(2, offset=0)]
        single = aggregate([stream_once(host.grpc_url, questions(1, offset=2)[0])])
        multi = concurrent(host.grpc_url, questions(n_concurrent, offset=3))
        proc = psutil.Process(host.proc.pid)
        rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(True))
    return {"load_s": round(load_s, 1), "runs": [_public(r) for r in runs],
            "best": _public(max(runs, key=lambda r: r["decode_tok_s"] or 0)),
            "single": single, "concurrent": multi, "rss_mb": round(rss / 2**20, 1)}


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
    out["rss_mb_served_int4"] = {
        "value": host.get("rss_mb"),
        "raw": {"load_s": host.get("load_s"), "chunks_indexed": inproc.get("chunks"),
                "index_build_s_first_time": inproc.get("index_build_s_recorded"),
                "backend": "genai", "error": host.get("error")}}
    rx = child("reindex", {}, timeout=1800)  # probes/models.py minilm_dir()
    out["incremental_vs_full_reindex_time"] = {
        "value": rx.get("ratio"), "raw": {k: v for k, v in rx.items() if k != "ratio"}}
    return out


SERVED_KEYS = ("served_vs_inprocess_decode", "concurrency8_vs_single_throughput",
               "rss_mb_served_int4", "incremental_vs_full_reindex_time")


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
