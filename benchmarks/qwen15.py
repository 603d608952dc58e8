"""The real brain: Qwen2.5-Coder-1.5B-Instruct (the preset's INT4 IR from its PyPI wheels)
served by the real host, in each decoding mode, beside llama.cpp on the same Q4_K_M GGUF.
`make bench BENCH_STAGE=qwen15` runs this stage alone (run.py); a full `make bench` runs it too.

Modes (ragbot/backends/drafting.py): plain; prompt_lookup (NUM_ASSISTANT_TOKENS /
MAX_NGRAM_SIZE of the preset); draft_model (the 0.5B drafting). "both" is asked of
openvino-genai once and recorded: it refuses (the modes are mutually exclusive there).

Rows, every mode measured the same way, one mode after the other, in this run:
- engine (child qwen15_engine, in-process, the host's settings): TTFT at 300 and 1,000 prompt
  tokens, decode tok/s, request 300 + 64 and 1,000 + 128 (exactly that many tokens), and the
  quoting RAG prompt (greedy, 128 tokens at most): acceptance of drafted tokens, answer hash;
- llama.cpp (child llamacpp_bench, 2 threads): the same ids for 300 + 64, 1,000 + 128 and the
  quoting prompt + 128;
- served (the host over gRPC, LLM_BACKEND=genai, mpnet embeddings, the bench's knowledge base:
  eval/corpus + a few Python reference topics; ready-made index after the first run):
  quote (2 runs: request s of the first, decode of the best), the eval's questions one after
  another (whole request each, summed), 1 / 4 / 8 concurrent streams (other eval questions:
  no prefix shared with what was asked before), RSS after those answers and the peak while
  loading (VmHWM at ready), tokens per model step from the host's /metrics;
- the RSS breakdown of the default mode (child rss_breakdown with this environment).
Goal keys: see qwen15_goals (benchmarks/README.md explains each).
"""
from __future__ import annotations

import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

from .paths import CACHE
from .served import REPO

KB_DIR = CACHE / "qwen15_kb"
MODES = ("plain", "prompt_lookup", "draft_model")
# "in full": since plain text is split by its headings (documents.plain_sections) the four
# passages all come from the section "Binary arithmetic operations", and asked without it the
# model quoted one sentence (11 tokens) instead of drawing a 128-token answer from them.
QUOTE = "Quote in full, word for word, what the Python reference says about the binary arithmetic operations."
QUOTE_TOKENS = 128
ANSWER_TOKENS = 128  # the eval questions' answers (they stop earlier on their own)
N_RAG, N_CONCURRENT = 8, (1, 4, 8)
K_SWEEP = (3, 8, 12)  # beside the setting's own (5): NUM_ASSISTANT_TOKENS for the lead to choose
TOPICS = ("binary", "with", "raise", "class", "objects", "assert", "while", "for")  # distractors + the quote


def eval_questions() -> list[str]:
    items = json.loads((REPO / "eval" / "questions.json").read_text(encoding="utf-8"))["questions"]
    return [q["question"] for q in items if q.get("kind") in ("fact", "paraphrase")]


def knowledge_base(folder: Path = KB_DIR) -> Path:
    """eval/corpus + TOPICS of the Python reference (the quote's source); written once."""
    docs = folder / "docs.txt"
    if docs.exists():
        return docs
    from pydoc_data.topics import topics

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for doc in sorted((REPO / "eval" / "corpus").glob("*.md")):
        shutil.copy(doc, folder / doc.name)
        names.append(doc.name)
    for name in TOPICS:
        (folder / f"python_{name}.txt").write_text(f"Python language reference: {name}\n\n{topics[name]}",
                                                   encoding="utf-8")
        names.append(f"python_{name}.txt")
    docs.write_text("\n".join(names) + "\n", encoding="utf-8")
    return docs


def mode_env(mode: str) -> dict:
    if mode == "plain":
        return {"PROMPT_LOOKUP": "off", "DRAFT_MODEL": "off"}
    if mode == "prompt_lookup":
        return {"PROMPT_LOOKUP": "on", "DRAFT_MODEL": "off"}
    if mode == "draft_model":
        return {"PROMPT_LOOKUP": "off", "DRAFT_MODEL": "qwen2.5-coder-0.5b-instruct"}
    return {}  # "default": the preset's own choice


def host_env(build: dict, mode: str) -> dict:
    """What the host gets: the preset as `make run` serves it, the bench's folders and KB.
    No OV_CONFIG: production defaults (no compiled-blob cache either: RSS as served)."""
    env = {"SELECTED_MODEL": "qwen2.5-coder-1.5b-instruct", "LLM_MODEL_DIR": build["target"],
           "EMBEDDING_MODEL": "all-mpnet-base-v2", "EMBEDDING_MODEL_DIR": build["embedding"],
           "DOCS_FILE": str(knowledge_base()), "INDEX_DIR": str(KB_DIR / "index"),
           "LLM_BACKEND": "genai", **mode_env(mode)}
    if mode == "draft_model":
        env["DRAFT_MODEL_DIR"] = build["draft"]
    return env


def default_mode() -> str:
    from ragbot.settings import Settings

    s = Settings.from_env(REPO / "servable_stream", {"SELECTED_MODEL": "qwen2.5-coder-1.5b-instruct"})
    return "prompt_lookup" if s.prompt_lookup else "draft_model" if s.draft_model_dir else "plain"


# --- served ------------------------------------------------------------------------------
def ask_once(url: str, question: str, max_new_tokens: int, timeout: float = 1800) -> dict:
    from probes.kserve import ask

    from .served import decode_figures

    answer = ask(url, {"question": question, "max_new_tokens": max_new_tokens}, timeout=timeout)
    last = answer.last
    if last.kind in ("error", "fail"):
        raise RuntimeError(f"{question!r}: {last.payload}")
    end = last.payload
    out = decode_figures(answer.started, answer.arrivals, last.at, end.get("usage", {}), end.get("finish_reason"))
    out["answer_sha"] = _sha(end.get("answer", ""))
    return out


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:12]


def concurrent(url: str, questions: list[str], max_new_tokens: int) -> dict:
    from .served import aggregate

    results: list = [None] * len(questions)

    def one(i):
        try:
            results[i] = ask_once(url, questions[i], max_new_tokens)
        except Exception as e:  # noqa: BLE001 - reported
            results[i] = {"error": f"{type(e).__name__}: {e}"}

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(questions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return aggregate(results)


def scrape(rest_url: str) -> dict[str, float]:
    with urllib.request.urlopen(rest_url + "/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith(("ragbot_generated_tokens_total", "ragbot_model_steps_total")):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def steps_between(before: dict, after: dict, answers: int, k: int) -> dict:
    """Tokens per model step over some answers, from the host's counters; acceptance as in
    qwen15_engine (each answer's first step is its prefill: it drafts nothing)."""
    from .qwen15_engine import acceptance

    tokens = after.get("ragbot_generated_tokens_total", 0) - before.get("ragbot_generated_tokens_total", 0)
    steps = after.get("ragbot_model_steps_total", 0) - before.get("ragbot_model_steps_total", 0)
    acc = acceptance(int(tokens), int(steps), k)
    slots = max(0, int(steps) - answers) * k
    acc.update(drafted_slots=slots, acceptance=round(acc["accepted_tokens"] / slots, 3) if slots else None)
    return {"tokens": int(tokens), "steps": int(steps), **acc}


def proc_status(pid: int) -> dict:
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("VmRSS", "VmHWM", "RssAnon", "RssFile")):
                key, value = line.split(":")
                out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def measure_served(env: dict, k: int, log) -> dict:
    import os

    from probes.host import start_host

    questions = eval_questions()
    rag_qs = questions[:N_RAG]
    out: dict = {"load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    t0 = time.perf_counter()
    with start_host(REPO / "servable_stream" / "config.json", env=env) as host:
        host.wait_ready(model="python_model", timeout=3600)
        out["load_s"] = round(time.perf_counter() - t0, 1)
        out["at_ready_mb"] = proc_status(host.proc.pid)  # VmHWM: the peak while loading
        log(f"  ready in {out['load_s']} s, {out['at_ready_mb']}")
        url = host.grpc_url
        ask_once(url, "What does the Brevik H3 kettle do?", 8)  # warm-up (not counted below)
        before = scrape(host.rest_url)
        quote = [ask_once(url, QUOTE, QUOTE_TOKENS) for _ in range(2)]
        mid = scrape(host.rest_url)
        out["quote"] = {"first": _public(quote[0]), "second": _public(quote[1]),
                        "request_s": quote[0]["request_s"], "ttft_s": quote[0]["ttft_s"],
                        "decode_tok_s": max(q["decode_tok_s"] or 0 for q in quote) or None,
                        "completion_tokens": quote[0]["completion_tokens"],
                        "answer_sha": quote[0]["answer_sha"], **steps_between(before, mid, 2, k)}
        log(f"  quote {out['quote']['request_s']} s, {out['quote']['decode_tok_s']} tok/s, "
            f"{out['quote']['tokens_per_step']} tokens/step")
        rag = [ask_once(url, q, ANSWER_TOKENS) for q in rag_qs]
        after = scrape(host.rest_url)
        out["rag"] = {"questions": len(rag), "request_s_sum": round(sum(r["request_s"] for r in rag), 3),
                      "ttft_s_sum": round(sum(r["ttft_s"] or 0 for r in rag), 3),
                      "completion_tokens": sum(r["completion_tokens"] for r in rag),
                      "answers_sha": _sha("".join(r["answer_sha"] for r in rag)),
                      "runs": [_public(r) for r in rag], **steps_between(mid, after, len(rag), k)}
        log(f"  {len(rag)} eval questions {out['rag']['request_s_sum']} s, {out['rag']['tokens_per_step']} tokens/step")
        out["rss_after_answers_mb"] = proc_status(host.proc.pid)  # warm-up + 2 quotes + 8 answers
        offset = N_RAG
        out["concurrency"] = {}
        for n in N_CONCURRENT:
            out["concurrency"][str(n)] = concurrent(url, questions[offset:offset + n], ANSWER_TOKENS)
            offset += n
            log(f"  {n} streams: {out['concurrency'][str(n)].get('aggregate_tok_s')} tok/s")
        out["rss_end_mb"] = proc_status(host.proc.pid)
    return out


def _public(r: dict) -> dict:
    return {k: v for k, v in r.items() if not k.startswith("_")}


# --- the stage ---------------------------------------------------------------------------
def qwen15_stage(child, log) -> dict:
    build = child("qwen15_build", timeout=7200)
    if "error" in build:
        return {"qwen15": {"build": build}}
    rows: dict = {"build": build}
    knowledge_base()
    plain_env = host_env(build, "plain")
    prompts = child("qwen15_prompts", {"env": plain_env, "questions": [QUOTE]}, timeout=3600)
    if "error" in prompts:
        return {"qwen15": {**rows, "prompts": prompts}}
    quote_ids = prompts["questions"][QUOTE]
    rows["quote_prompt_tokens"] = len(quote_ids)
    cases = {
        "corpus_300": {"ids": [prompts["corpus_300_0"], prompts["corpus_300_1"]], "new_tokens": 64, "ignore_eos": True},
        "corpus_1000": {"ids": [prompts["corpus_1000_0"], prompts["corpus_1000_1"]], "new_tokens": 128,
                        "ignore_eos": True},
        "quote": {"ids": [quote_ids, quote_ids], "new_tokens": QUOTE_TOKENS},
        # tokens drafted per step: the drafting modes' sweep on the same prompt (cached prefix)
        **{f"quote_k{k}": {"ids": [quote_ids, quote_ids], "new_tokens": QUOTE_TOKENS, "num_assistant_tokens": k}
           for k in K_SWEEP},
    }
    from ragbot.settings import Settings

    k = Settings.from_env(REPO / "servable_stream", host_env(build, "prompt_lookup")).num_assistant_tokens
    rows["num_assistant_tokens"] = k
    rows["engine"] = {m: child("qwen15_engine", {"env": host_env(build, m), "cases": cases}, timeout=3600)
                      for m in MODES}
    rows["engine"]["both"] = child("qwen15_engine", {"mode": "both", "env": host_env(build, "draft_model")})
    lc = {"gguf": build["gguf"], "tokenizer": build["target"], "n_ctx": 2048}
    rows["llamacpp"] = {
        "corpus_300": child("llamacpp_bench", {**lc, "prompt_tokens": 300, "new_tokens": 64}, timeout=3600),
        "corpus_1000": child("llamacpp_bench", {**lc, "prompt_tokens": 1000, "new_tokens": 128}, timeout=3600),
        "quote": child("llamacpp_bench", {**lc, "prompt_ids": quote_ids, "new_tokens": QUOTE_TOKENS}, timeout=3600),
    }
    rows["served"] = {}
    for m in MODES:
        log(f"served qwen15 {m} (host over gRPC)")
        try:
            rows["served"][m] = measure_served(host_env(build, m), k if m != "plain" else 0, log)
        except Exception as e:  # noqa: BLE001 - report, keep the other modes
            rows["served"][m] = {"error": f"{type(e).__name__}: {str(e)[-1500:]}"}
    rows["default_mode"] = default_mode()
    rows["rss_breakdown"] = child("rss_breakdown", {"env": host_env(build, rows["default_mode"]),
                                                    "questions": eval_questions()[:8]}, timeout=3600)
    return {"qwen15": rows}


def _r(a, b, nd=2):
    try:
        return round(a / b, nd)
    except (TypeError, ZeroDivisionError):
        return None


def qwen15_goals(o: dict) -> dict:
    q = o.get("qwen15") or {}
    served, engine, lc = q.get("served") or {}, q.get("engine") or {}, q.get("llamacpp") or {}
    g = lambda d, *ks: _dig(d, *ks)  # noqa: E731
    drafting = [m for m in MODES if m != "plain"]
    best_quote = min(drafting, key=lambda m: g(served, m, "quote", "request_s") or 1e9)
    best_rag = min(drafting, key=lambda m: g(served, m, "rag", "request_s_sum") or 1e9)
    best_decode = max(MODES, key=lambda m: g(served, m, "quote", "decode_tok_s") or 0)
    accept = {m: {"quote": g(served, m, "quote", "acceptance"), "rag": g(served, m, "rag", "acceptance"),
                  "quote_tokens_per_step": g(served, m, "quote", "tokens_per_step"),
                  "rag_tokens_per_step": g(served, m, "rag", "tokens_per_step")} for m in drafting}
    def equal(a, b):
        return None if a is None or b is None else a == b

    same = {m: {"quote": equal(g(served, m, "quote", "answer_sha"), g(served, "plain", "quote", "answer_sha")),
                "rag": equal(g(served, m, "rag", "answers_sha"), g(served, "plain", "rag", "answers_sha")),
                "engine_quote_ids": equal(g(engine, m, "quote", "ids_sha"), g(engine, "plain", "quote", "ids_sha"))}
            for m in drafting}
    conc = {m: {n: g(served, m, "concurrency", n, "aggregate_tok_s") for n in ("1", "4", "8")} for m in MODES}
    default = q.get("default_mode") or "plain"
    d = served.get(default) or {}
    bd = q.get("rss_breakdown") or {}
    best_engine_ttft = min((t for m in MODES if (t := g(engine, m, "corpus_1000", "ttft_s"))), default=None)
    return {
        "qwen15_quote_speedup": {
            "value": _r(g(served, "plain", "quote", "request_s"), g(served, best_quote, "quote", "request_s")),
            "raw": {"best_mode": best_quote, "plain_request_s": g(served, "plain", "quote", "request_s"),
                    "best_request_s": g(served, best_quote, "quote", "request_s"),
                    "completion_tokens": g(served, best_quote, "quote", "completion_tokens"),
                    "prompt_tokens": g(served, "plain", "quote", "first", "prompt_tokens"),
                    "acceptance": accept, "same_answer_as_plain": same,
                    "by_mode_request_s": {m: g(served, m, "quote", "request_s") for m in MODES},
                    # the same answer without its cold 1,200-token prefill, which no mode shortens:
                    # from the first token to the last, and the second ask (its prompt cached)
                    "after_first_token_speedup": _r(_after_first(served, "plain"), _after_first(served, best_quote)),
                    "warm_prefix_request_speedup": _r(g(served, "plain", "quote", "second", "request_s"),
                                                      g(served, best_quote, "quote", "second", "request_s")),
                    "engine_k_sweep": {m: {str(k): {f: g(engine, m, case, f) for f in
                                                    ("decode_tok_s", "request_s", "tokens_per_step", "acceptance")}
                                           for k, case in ((k, f"quote_k{k}") for k in K_SWEEP)}
                                       for m in drafting},
                    "engine_setting_k": {m: {f: g(engine, m, "quote", f) for f in
                                             ("num_assistant_tokens", "decode_tok_s", "request_s", "tokens_per_step",
                                              "acceptance")} for m in MODES}}},
        "qwen15_rag_request_speedup": {
            "value": _r(g(served, "plain", "rag", "request_s_sum"), g(served, best_rag, "rag", "request_s_sum")),
            "raw": {"best_mode": best_rag, "questions": g(served, "plain", "rag", "questions"),
                    "by_mode_request_s_sum": {m: g(served, m, "rag", "request_s_sum") for m in MODES},
                    "by_mode_completion_tokens": {m: g(served, m, "rag", "completion_tokens") for m in MODES},
                    "acceptance": {m: accept[m]["rag"] for m in drafting}}},
        "qwen15_ours_vs_llamacpp_decode": {
            "value": _r(g(served, best_decode, "quote", "decode_tok_s"), g(lc, "quote", "decode_tok_s")),
            "raw": {"ours_mode": best_decode, "ours_served_decode_tok_s": g(served, best_decode, "quote", "decode_tok_s"),
                    "llamacpp_decode_tok_s": g(lc, "quote", "decode_tok_s"),
                    "plain_served_decode_tok_s": g(served, "plain", "quote", "decode_tok_s"),
                    "plain_engine_corpus_1000_decode_tok_s": g(engine, "plain", "corpus_1000", "decode_tok_s"),
                    "llamacpp_corpus_1000_decode_tok_s": g(lc, "corpus_1000", "decode_tok_s"),
                    "llamacpp_cpu_variant": g(lc, "quote", "cpu_variant"), "threads": 2,
                    "note": "the quoting RAG prompt, same ids both sides; llama.cpp plain decoding"}},
        "qwen15_llamacpp_vs_ours_ttft_1000": {
            "value": _r(g(lc, "corpus_1000", "ttft_s"), best_engine_ttft),
            "raw": {"llamacpp_ttft_s": g(lc, "corpus_1000", "ttft_s"),
                    "ours_ttft_s": {m: g(engine, m, "corpus_1000", "ttft_s") for m in MODES},
                    "llamacpp_ttft_300_s": g(lc, "corpus_300", "ttft_s"),
                    "ours_ttft_300_s": {m: g(engine, m, "corpus_300", "ttft_s") for m in MODES},
                    "llamacpp_request_1000_128_s": g(lc, "corpus_1000", "request_s"),
                    "ours_request_1000_128_s": {m: g(engine, m, "corpus_1000", "request_s") for m in MODES},
                    "llamacpp_request_300_64_s": g(lc, "corpus_300", "request_s"),
                    "ours_request_300_64_s": {m: g(engine, m, "corpus_300", "request_s") for m in MODES}}},
        "rss_mb_served_qwen15": {
            "value": g(d, "rss_after_answers_mb", "VmRSS"),
            "raw": {"mode": default, "peak_while_loading_mb": g(d, "at_ready_mb", "VmHWM"),
                    "at_ready_mb": g(d, "at_ready_mb", "VmRSS"),
                    "by_mode_after_answers_mb": {m: g(served, m, "rss_after_answers_mb", "VmRSS") for m in MODES},
                    "by_mode_peak_loading_mb": {m: g(served, m, "at_ready_mb", "VmHWM") for m in MODES},
                    "by_mode_end_mb": {m: g(served, m, "rss_end_mb", "VmRSS") for m in MODES},
                    "breakdown_mb": bd.get("parts_mb"), "kv_cache_allocated_mb": bd.get("kv_cache_allocated_mb"),
                    "breakdown_peak_mb": bd.get("peak_mb"), "breakdown_error": bd.get("error")}},
        "qwen15_concurrency4_best_vs_plain": {
            "value": _r(conc.get(best_quote, {}).get("4"), conc["plain"].get("4")),
            "raw": {"best_mode": best_quote, "aggregate_tok_s": conc,
                    "the_modes_refused": g(engine, "both", "error")}},
    }


def _after_first(served: dict, mode: str) -> float | None:
    """The quote's first ask from its first token to its last (served)."""
    request, ttft = _dig(served, mode, "quote", "request_s"), _dig(served, mode, "quote", "ttft_s")
    return None if request is None or ttft is None else request - ttft


def _dig(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d
