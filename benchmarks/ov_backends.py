"""In-process OpenVINO LLM backends: optimum-intel OVModelForCausalLM and openvino_genai.LLMPipeline.

One request = a fixed-length prompt (token ids, so both backends see the same tokens) and exactly
`new` generated tokens (min_new_tokens / ignore_eos: a random model would otherwise stop at any
time). TTFT = start -> first token; decode tok/s = (new-1) / (first -> last token).
Child process: `python -m benchmarks.ov_backends '{"backend": "genai", "model": ..., ...}'`.
"""
from __future__ import annotations

import time
from pathlib import Path

from .common import (
    NEW_TOKENS,
    OV_CACHE_DIR,
    PROMPT_TOKENS,
    Clock,
    child_args,
    emit,
    prompt_ids,
)


def _ov_props(props: dict) -> dict:
    return {"CACHE_DIR": OV_CACHE_DIR, **props}


def run_optimum(model_dir: str, props: dict, prompts: list[list[int]], new: int) -> dict:
    import torch
    from optimum.intel import OVModelForCausalLM
    from transformers.generation.streamers import BaseStreamer

    t0 = time.perf_counter()
    model = OVModelForCausalLM.from_pretrained(model_dir, ov_config=_ov_props(props), compile=True)
    load_s = time.perf_counter() - t0

    class _Streamer(BaseStreamer):
        def __init__(self, clock):
            self.clock, self.seen_prompt = clock, False

        def put(self, value):
            if not self.seen_prompt:  # the first put() is the prompt itself
                self.seen_prompt = True
                return
            self.clock.tick(int(value.numel()))

        def end(self):
            pass

    def one(ids, n):
        clock = Clock()
        clock.start()
        model.generate(torch.tensor([ids]), max_new_tokens=n, min_new_tokens=n, do_sample=False,
                       streamer=_Streamer(clock))
        return clock.summary()

    one(prompts[-1][:16], 4)  # warm-up (first inference allocates), text shared with no run
    runs = [one(p, new) for p in prompts[:-1]]
    return {"load_s": round(load_s, 2), "runs": runs}


def run_genai(model_dir: str, props: dict, prompts: list[list[int]], new: int) -> dict:
    import numpy as np
    import openvino as ov
    import openvino_genai as ov_genai

    t0 = time.perf_counter()
    pipe = ov_genai.LLMPipeline(model_dir, "CPU", **_ov_props(props))
    load_s = time.perf_counter() - t0

    class _Streamer(ov_genai.StreamerBase):
        def __init__(self, clock):
            super().__init__()
            self.clock = clock

        def write(self, token):
            self.clock.tick(len(token) if isinstance(token, list) else 1)
            return ov_genai.StreamingStatus.RUNNING

        def end(self):
            pass

    def one(ids, n):
        cfg = ov_genai.GenerationConfig()
        cfg.max_new_tokens = cfg.min_new_tokens = n
        cfg.ignore_eos = True
        clock = Clock()
        clock.start()
        res = pipe.generate(ov.Tensor(np.array([ids], dtype=np.int64)), cfg, _Streamer(clock))
        out = clock.summary()
        pm = res.perf_metrics
        out["genai_ttft_s"] = round(pm.get_ttft().mean / 1000, 3)
        out["genai_tpot_ms"] = round(pm.get_tpot().mean, 2)
        return out

    one(prompts[-1][:16], 4)
    runs = [one(p, new) for p in prompts[:-1]]
    return {"load_s": round(load_s, 2), "runs": runs}


def best(runs: list[dict]) -> dict:
    """Best-of-N per figure (the machine is shared: the minimum is the least-disturbed run)."""
    return {"ttft_s": min(r["ttft_s"] for r in runs),
            "request_s": min(r["request_s"] for r in runs),
            "decode_tok_s": max(r["decode_tok_s"] or 0 for r in runs),
            "new_tokens": runs[0]["new_tokens"]}


def main() -> None:
    a = child_args()
    # a different text per run (and for the warm-up): LLMPipeline's paged-attention backend
    # caches prefixes, so repeating a prompt would measure a cache hit, not a prefill
    n = a.get("prompt_tokens", PROMPT_TOKENS)
    prompts = [prompt_ids(a["model"], n, offset=i) for i in range(a.get("repeats", 2) + 1)]
    fn = {"optimum": run_optimum, "genai": run_genai}[a["backend"]]
    out = fn(a["model"], a.get("props", {}), prompts, a.get("new_tokens", NEW_TOKENS))
    prompt = prompts[0]
    out.update(best(out["runs"]), backend=a["backend"], props=a.get("props", {}),
               prompt_tokens=len(prompt),
               model=Path(a["model"]).name)
    emit(out)


if __name__ == "__main__":
    main()
