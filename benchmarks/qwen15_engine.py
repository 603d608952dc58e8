"""Our engine on the real 1.5B in one decoding mode, in-process: ragbot's genai backend
(load_genai, the settings the host gets, minus embeddings and index) fed token ids directly,
so llama.cpp gets the very same ids (qwen15_llamacpp rows).

    python -m benchmarks.qwen15_engine '{"env": {...}, "cases": {"corpus_300": {"ids": [[...], [...]],
        "new_tokens": 64, "ignore_eos": true}, ...}}'

Each case runs once per prompt in "ids" (a different text per run for the TTFT cases: prefix
caching would make a repeated prompt a cache hit; the same prompt twice where decode is what
is measured), best of the runs per figure.

Per case: TTFT (submit -> first token), decode tok/s ((tokens - 1) / first -> last token),
request s, tokens, model steps, the acceptance of drafted tokens and a hash of the ids (the
modes' answers compared). Acceptance = accepted / drafted slots, accepted = tokens - steps
(each step after the prefill yields its accepted drafts + one token of its own), drafted
slots = (steps - 1) x NUM_ASSISTANT_TOKENS: exact for a draft model (it always drafts that
many), a lower bound for prompt lookup (it drafts fewer where no n-gram matches).
Mode "both" only records what openvino-genai says when asked for both.
"""
from __future__ import annotations

import hashlib
import threading
import time

from .common import child_args, emit
from .served import REPO


def acceptance(tokens: int, steps: int, k: int) -> dict:
    accepted = max(0, tokens - steps)
    slots = max(0, steps - 1) * k
    return {"tokens_per_step": round(tokens / steps, 2) if steps else None,
            "accepted_tokens": accepted, "drafted_slots": slots,
            "acceptance": round(accepted / slots, 3) if slots else None}


def run_case(backend, ids: list[int], new_tokens: int, ignore_eos: bool, k: int | None = None) -> dict:
    """One request; `k` drafts that many tokens per step instead of the setting (a per-request
    field: the same engine serves the whole sweep)."""
    import dataclasses

    from ragbot.backends.genai import generation_config

    eos = [] if ignore_eos else [backend.tokenizer.eos_token_id, *backend.eos_ids]
    drafting = backend.drafting
    if k and drafting.drafts:
        drafting = dataclasses.replace(drafting, num_assistant_tokens=k)
    config = generation_config(new_tokens, None, None, eos, (), ignore_eos, drafting)
    t0 = time.perf_counter()
    request = backend.engine.submit(ids, config, threading.Event())
    out, first, last = [], None, None
    while True:
        kind, payload = request.events.get()
        if kind == "ids":
            last = time.perf_counter()
            first = first or last
            out += payload
        elif kind == "error":
            raise payload
        else:
            break
    end = time.perf_counter()
    k = drafting.num_assistant_tokens if drafting.drafts else 0
    return {"num_assistant_tokens": k,"ttft_s": round(first - t0, 3), "request_s": round(end - t0, 3), "tokens": len(out),
            "decode_tok_s": round((len(out) - 1) / (last - first), 2) if len(out) > 1 and last > first else None,
            "steps": request.steps, **acceptance(len(out), request.steps, k),
            "ids_sha": hashlib.sha256(str(out).encode()).hexdigest()[:12], "prompt_tokens": len(ids)}


def best(runs: list[dict]) -> dict:
    return {**runs[-1], "ttft_s": min(r["ttft_s"] for r in runs),
            "request_s": min(r["request_s"] for r in runs),
            "decode_tok_s": max(r["decode_tok_s"] or 0 for r in runs) or None, "runs": runs}


def both_modes(env: dict) -> dict:
    """What openvino-genai answers when asked for prompt lookup and a draft model at once."""
    import openvino_genai as ov_genai

    from ragbot.backends.genai import scheduler_config
    from ragbot.backends.kv_cache import plan_kv_cache

    plan = plan_kv_cache(env["LLM_MODEL_DIR"], "CPU", {}, 4096, 1, 1, override_mb=64)
    try:
        ov_genai.ContinuousBatchingPipeline(env["LLM_MODEL_DIR"], scheduler_config(plan), "CPU", {
            "prompt_lookup": True, "draft_model": ov_genai.draft_model(env["DRAFT_MODEL_DIR"], "CPU")})
    except Exception as exc:  # noqa: BLE001 - the refusal is the result
        return {"error": str(exc).strip().splitlines()[-1][:300], "refused_by": "openvino-genai"}
    return {"error": None, "note": "openvino-genai accepted both: measure it"}


def main() -> None:
    a = child_args()
    if a.get("mode") == "both":
        emit(both_modes(a["env"]))
        return
    from ragbot.backends.genai import load_genai
    from ragbot.settings import Settings

    settings = Settings.from_env(REPO / "servable_stream", a["env"])
    t0 = time.perf_counter()
    backend = load_genai(settings)
    out: dict = {"load_s": round(time.perf_counter() - t0, 1), "decoding": backend.drafting.describe()}
    try:
        run_case(backend, list(range(1000, 1016)), 4, True)  # warm-up, shares no prefix
        for name, case in a["cases"].items():
            if case.get("num_assistant_tokens") and not backend.drafting.drafts:
                continue  # a sweep of drafted tokens means nothing to plain decoding
            runs = [run_case(backend, ids, case["new_tokens"], case.get("ignore_eos", False),
                             case.get("num_assistant_tokens")) for ids in case["ids"]]
            out[name] = best(runs)
    finally:
        backend.close()
    emit(out)


if __name__ == "__main__":
    main()
