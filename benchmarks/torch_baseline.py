"""PyTorch FP32 baseline (transformers LlamaForCausalLM on 2 threads). It is slow, so only a
short prompt and a few tokens: decode tok/s from the token clock, which is what the ratio uses
(at a 1000-token context attention adds only ~2% of the per-token weight traffic for this GQA
model, so a short context does not flatter it much)."""
from __future__ import annotations

import time

from .common import Clock, child_args, emit, prompt_ids


def main() -> None:
    import torch
    from transformers import LlamaForCausalLM
    from transformers.generation.streamers import BaseStreamer

    a = child_args()
    torch.set_num_threads(a.get("threads", 2))
    t0 = time.perf_counter()
    model = LlamaForCausalLM.from_pretrained(a["model"], dtype=torch.float32).eval()
    load_s = time.perf_counter() - t0
    ids = torch.tensor([prompt_ids(a["model"], a.get("prompt_tokens", 32))])
    new = a.get("new_tokens", 8)

    class _Streamer(BaseStreamer):
        def __init__(self, clock):
            self.clock, self.seen = clock, False

        def put(self, value):
            if self.seen:
                self.clock.tick()
            self.seen = True

        def end(self):
            pass

    runs = []
    with torch.inference_mode():
        model.generate(ids[:, :8], max_new_tokens=2, min_new_tokens=2, do_sample=False)  # warm-up
        for _ in range(a.get("repeats", 1)):
            clock = Clock()
            clock.start()
            model.generate(ids, max_new_tokens=new, min_new_tokens=new, do_sample=False,
                           streamer=_Streamer(clock))
            runs.append(clock.summary())
    emit({"load_s": round(load_s, 1), "runs": runs, "prompt_tokens": ids.shape[1],
          "decode_tok_s": max(r["decode_tok_s"] for r in runs),
          "ttft_s": min(r["ttft_s"] for r in runs), "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
