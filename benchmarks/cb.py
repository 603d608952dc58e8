"""openvino_genai.ContinuousBatchingPipeline: aggregate throughput for 1/4/8 concurrent streams,
and prefix-caching follow-up TTFT.

Streams: n requests added at once, each with its own 1000-token prompt (different text, so no
prefix is shared) and exactly 128 new tokens; `step()` drives them all. Aggregate tok/s = all
generated tokens / wall time (prefill included: that is what concurrent users see).
Follow-up: turn 1 = 1000-token prompt; turn 2 = the same 1000 tokens + 100 new ones. With
enable_prefix_caching the KV blocks of the shared prefix are reused, so only ~100 tokens are
prefilled. The cold 1100-token TTFT (prefix caching off) is measured as the control.
"""
from __future__ import annotations

import time

from .common import (
    NEW_TOKENS,
    OV_CACHE_DIR,
    PROMPT_TOKENS,
    child_args,
    emit,
    prompt_ids,
)

SCHEDULER = dict(cache_size=2, max_num_batched_tokens=1024, max_num_seqs=8,
                 dynamic_split_fuse=True, enable_prefix_caching=False)


def make_pipe(model_dir: str, props: dict, sched: dict):
    import openvino_genai as ov_genai

    sc = ov_genai.SchedulerConfig()
    for k, v in sched.items():
        setattr(sc, k, v)
    return ov_genai.ContinuousBatchingPipeline(model_dir, sc, "CPU", {"CACHE_DIR": OV_CACHE_DIR, **props})


def _config(new: int):
    import openvino_genai as ov_genai

    cfg = ov_genai.GenerationConfig()
    cfg.max_new_tokens = cfg.min_new_tokens = new
    cfg.ignore_eos = True
    return cfg


def run_requests(pipe, prompts: list[list[int]], new: int, rid0: int = 0) -> dict:
    """Add all prompts at once, step until done; per-request TTFT and the aggregate rate."""
    import numpy as np
    import openvino as ov

    t0 = time.perf_counter()
    handles = [pipe.add_request(rid0 + i, ov.Tensor(np.array([p], dtype=np.int64)), _config(new))
               for i, p in enumerate(prompts)]
    first = [None] * len(handles)
    counts = [0] * len(handles)
    while pipe.has_non_finished_requests():
        pipe.step()
        now = time.perf_counter()
        for i, h in enumerate(handles):
            if h.can_read():
                got = sum(len(o.generated_ids) for o in h.read().values())
                if got and first[i] is None:
                    first[i] = now - t0
                counts[i] += got
    wall = time.perf_counter() - t0
    total = sum(counts)
    return {"streams": len(prompts), "wall_s": round(wall, 3), "new_tokens": total,
            "aggregate_tok_s": round(total / wall, 2),
            "ttft_s_mean": round(sum(first) / len(first), 3), "ttft_s_max": round(max(first), 3),
            "per_stream_tok_s": round(total / wall / len(prompts), 2)}


def streams(model_dir: str, props: dict, sched: dict, counts=(1, 4, 8), plen=PROMPT_TOKENS,
            new=NEW_TOKENS) -> dict:
    pipe = make_pipe(model_dir, props, sched)
    prompts = [prompt_ids(model_dir, plen, offset=i) for i in range(max(counts))]
    run_requests(pipe, [prompts[0][:16]], 4, rid0=1000)  # warm-up
    return {str(n): run_requests(pipe, prompts[:n], new, rid0=100 * n) for n in counts}


def followup(model_dir: str, props: dict, sched: dict, plen=PROMPT_TOKENS, extra=100,
             new=NEW_TOKENS) -> dict:
    base = prompt_ids(model_dir, plen + extra, offset=0)
    first_turn, follow = base[:plen], base[:plen + extra]
    out = {}
    for caching in (True, False):
        pipe = make_pipe(model_dir, props, dict(sched, enable_prefix_caching=caching))
        run_requests(pipe, [prompt_ids(model_dir, 16, offset=5)], 4, rid0=1000)  # warm-up
        t1 = run_requests(pipe, [first_turn], new, rid0=1)
        t2 = run_requests(pipe, [follow], new, rid0=2)
        out["prefix_caching" if caching else "no_prefix_caching"] = {
            "first_ttft_s": t1["ttft_s_mean"], "followup_ttft_s": t2["ttft_s_mean"],
            "followup_prompt_tokens": len(follow)}
        del pipe
    return out


def main() -> None:
    a = child_args()
    sched = dict(SCHEDULER, **a.get("scheduler", {}))
    props = a.get("props", {})
    out = {"scheduler": sched, "props": props}
    if a.get("what", "streams") == "streams":
        out["streams"] = streams(a["model"], props, sched, tuple(a.get("counts", (1, 4, 8))),
                                 a.get("prompt_tokens", PROMPT_TOKENS), a.get("new_tokens", NEW_TOKENS))
    else:
        out["followup"] = followup(a["model"], props, sched, a.get("prompt_tokens", PROMPT_TOKENS),
                                   new=a.get("new_tokens", 8))
    emit(out)


if __name__ == "__main__":
    main()
