"""llama.cpp (via llama-cpp-python built from its PyPI sdist) on the same random model.

GGUF: the sdist's vendored convert_hf_to_gguf.py turns the torch folder into an F16 GGUF; our
locally trained byte-level BPE has no tokenizer.model and no registered pre-tokenizer hash, so the
converter is sent straight to its BPE path and told the pre-tokenizer is "gpt-2" (a byte-level regex; token ids are what we feed, so this only affects text). Then
llama_model_quantize -> Q4_K_M. Both files live in benchmarks/.cache (never committed).
Measurement: the same 1000 token ids, llm.eval() for prompt processing, then 128 greedy tokens
one llm.eval([t]) at a time (EOS masked), n_threads = n_threads_batch = 2.
"""
from __future__ import annotations

import ctypes
import subprocess
import sys
import time
from pathlib import Path

from .common import NEW_TOKENS, PROMPT_TOKENS, child_args, emit, prompt_ids
from .llamacpp_build import ensure_built, recorded
from .paths import MODELS

GGUF_DIR = MODELS / "gguf"
_CONVERT = """
import sys
src = sys.argv.pop(1)
sys.path[:0] = [src, src + "/gguf-py"]
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
def _no_spm(self, *a, **k):  # no tokenizer.model (and no sentencepiece): go straight to BPE
    raise FileNotFoundError("byte-level BPE tokenizer.json only")
base.TextModel._set_vocab_sentencepiece = _no_spm
base.TextModel._set_vocab_llama_hf = _no_spm
sys.argv[0] = src + "/convert_hf_to_gguf.py"
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def ensure_gguf(torch_dir: Path, info: dict) -> dict:
    GGUF_DIR.mkdir(parents=True, exist_ok=True)
    f16, q4 = GGUF_DIR / "model-f16.gguf", GGUF_DIR / "model-q4_k_m.gguf"
    out = {}
    if not q4.exists():
        if not f16.exists():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", _CONVERT, info["src"], str(torch_dir),
                            "--outfile", str(f16), "--outtype", "f16"], check=True)
            out["convert_s"] = round(time.perf_counter() - t0, 1)
        import llama_cpp

        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
        params.nthread = 2
        t0 = time.perf_counter()
        tmp = q4.with_suffix(".tmp")
        rc = llama_cpp.llama_model_quantize(str(f16).encode(), str(tmp).encode(), ctypes.byref(params))
        if rc != 0:
            raise RuntimeError(f"llama_model_quantize returned {rc}")
        tmp.rename(q4)
        out["quantize_s"] = round(time.perf_counter() - t0, 1)
        f16.unlink()  # 2.2 GB; the Q4_K_M file is all the benchmark needs
    out.update(path=str(q4), size_mb=round(q4.stat().st_size / 2**20, 1))
    return out


def measure(q4: str, prompt: list[int], new: int, threads: int, repeats: int, n_ctx: int = 2048) -> dict:
    import llama_cpp
    import numpy as np
    from llama_cpp import Llama

    llm = Llama(model_path=q4, n_ctx=n_ctx, n_batch=512, n_ubatch=512, n_threads=threads,
                n_threads_batch=threads, verbose=False)
    eos, n_vocab = llm.token_eos(), llm.n_vocab()

    def last_logits():  # llama-cpp-python keeps no scores without logits_all: read the context's
        ptr = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(ptr, shape=(n_vocab,)).copy()

    def one(ids, n):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        t_prefill = time.perf_counter() - t0
        stamps = []
        for _ in range(n):
            logits = last_logits()
            logits[eos] = -np.inf
            tok = int(logits.argmax())
            stamps.append(time.perf_counter())  # token available (sampled)
            llm.eval([tok])
        decode_s = stamps[-1] - stamps[0]
        return {"prefill_s": round(t_prefill, 3), "prefill_tok_s": round(len(ids) / t_prefill, 1),
                "ttft_s": round(stamps[0] - t0, 3), "request_s": round(stamps[-1] - t0, 3),
                "decode_tok_s": round((n - 1) / decode_s, 2), "new_tokens": n}

    one(prompt[:16], 4)
    runs = [one(prompt, new) for _ in range(repeats)]
    return {"runs": runs, "ttft_s": min(r["ttft_s"] for r in runs),
            "request_s": min(r["request_s"] for r in runs),
            "decode_tok_s": max(r["decode_tok_s"] for r in runs),
            "prefill_tok_s": max(r["prefill_tok_s"] for r in runs), "threads": threads}


def main() -> None:
    a = child_args()
    info = ensure_built()
    sys.path.insert(0, info["site"])
    if a.get("gguf"):  # a ready GGUF (the SmolLM2 wheel's), prompt ids from `tokenizer`
        out = {"build": recorded(info), "gguf": {"path": a["gguf"],
                                       "size_mb": round(Path(a["gguf"]).stat().st_size / 2**20, 1)}}
        tokenizer_dir = Path(a["tokenizer"])
    else:
        tokenizer_dir = Path(a["torch_model"])
        out = {"build": recorded(info), "gguf": ensure_gguf(tokenizer_dir, info)}
    out["cpu_variant"] = info.get("cpu_variant")
    # explicit ids (a RAG prompt our tokenizer made), else exactly prompt_tokens of the corpus
    prompt = a.get("prompt_ids") or prompt_ids(tokenizer_dir, a.get("prompt_tokens", PROMPT_TOKENS))
    out.update(measure(out["gguf"]["path"], prompt, a.get("new_tokens", NEW_TOKENS),
                       a.get("threads", 2), a.get("repeats", 2), a.get("n_ctx", 2048)))
    out["prompt_tokens"] = len(prompt)
    emit(out)


if __name__ == "__main__":
    main()
