"""Render results.json as the "Latest results" section of benchmarks/README.md
(`python -m benchmarks.report`; run.py calls it after writing results.json)."""
from __future__ import annotations

import json

from .paths import BENCH, RESULTS

START, END = "<!-- results:start -->", "<!-- results:end -->"


REPO = BENCH.parent


def relative(o):
    """Strip the checkout's absolute prefix from every string (results.json is tracked)."""
    if isinstance(o, dict):
        return {k: relative(v) for k, v in o.items()}
    if isinstance(o, list):
        return [relative(v) for v in o]
    if isinstance(o, str):
        return o.replace(str(REPO) + "/", "").replace(str(REPO), ".")
    return o


def _fmt(v) -> str:
    return "—" if v is None else str(v)


def render(o: dict) -> str:
    built = sum((o.get("models") or {}).get("build_s", {}).values())
    lines = [START, "", f"Bench wall time: {o.get('bench_wall_s')} s ({built:.0f} s of it building the "
             "TinyLlama-shaped test models, 0 when they are cached).", "",
             "| goal | value | raw figures |", "|---|---|---|"]
    for k, g in o["goals"].items():
        raw = g.get("raw", g.get("reason", ""))
        raw = ", ".join(f"{a}={b}" for a, b in raw.items() if not isinstance(b, dict)) \
            if isinstance(raw, dict) else raw
        lines.append(f"| {k} | {_fmt(g.get('value'))} | {raw} |")
    lines += ["", "| in-process backend | TTFT s (1000 tok) | decode tok/s | request s (1000+128) |",
              "|---|---|---|---|"]
    for name, r in o["inprocess"].items():
        lines.append(f"| {name} | {_fmt(r.get('ttft_s'))} | {_fmt(r.get('decode_tok_s'))} | "
                     f"{_fmt(r.get('request_s'))} |")
    lc = o.get("llamacpp", {})
    lines.append(f"| llama.cpp Q4_K_M | {_fmt(lc.get('ttft_s'))} | {_fmt(lc.get('decode_tok_s'))} | "
                 f"{_fmt(lc.get('request_s'))} |")
    lines += render_qwen15(o.get("qwen15") or {})
    p = o["properties"]
    lines += ["", f"Chosen OpenVINO properties: `{json.dumps(p['chosen'])}`", "",
              f"Decode sweep (tok/s, 64-token prompt): `{json.dumps(p['decode_sweep_tok_s'])}`", "",
              f"TTFT sweep (s, 1000 tokens): `{json.dumps(p['ttft_sweep_s'])}`", "",
              f"Model build s: `{json.dumps(o['models'].get('build_s'))}`; sizes MB: "
              f"`{json.dumps(o['models'].get('size_mb'))}`", "", END]
    return "\n".join(lines)


def render_qwen15(q: dict) -> list[str]:
    """The real 1.5B per decoding mode (benchmarks/qwen15.py), llama.cpp on the same GGUF."""
    if not q.get("served") and not q.get("engine"):
        return []

    def g(d, *keys):
        for k in keys:
            d = d.get(k) if isinstance(d, dict) else None
        return _fmt(d)

    eng, srv, lc = q.get("engine") or {}, q.get("served") or {}, q.get("llamacpp") or {}
    lines = ["", "Qwen2.5-Coder-1.5B-Instruct (INT4 IR from the wheels; llama.cpp: the same Q4_K_M GGUF, 2 threads). "
             "Engine: in-process, same token ids as llama.cpp; served: the host over gRPC.", "",
             "| | TTFT 300 s | TTFT 1000 s | req 300+64 s | req 1000+128 s | decode tok/s (1000) | "
             "quote served s | quote decode tok/s | quote tokens/step | acceptance | 8 eval questions s | "
             "1 / 4 / 8 streams tok/s | RSS after answers MB | peak loading MB |",
             "|" + "---|" * 14]
    for m in ("plain", "prompt_lookup", "draft_model"):
        e, s = eng.get(m) or {}, srv.get(m) or {}
        conc = " / ".join(g(s, "concurrency", n, "aggregate_tok_s") for n in ("1", "4", "8"))
        lines.append(f"| {m} | {g(e, 'corpus_300', 'ttft_s')} | {g(e, 'corpus_1000', 'ttft_s')} | "
                     f"{g(e, 'corpus_300', 'request_s')} | {g(e, 'corpus_1000', 'request_s')} | "
                     f"{g(e, 'corpus_1000', 'decode_tok_s')} | {g(s, 'quote', 'request_s')} | "
                     f"{g(s, 'quote', 'decode_tok_s')} | {g(s, 'quote', 'tokens_per_step')} | "
                     f"{g(s, 'quote', 'acceptance')} / {g(s, 'rag', 'acceptance')} | {g(s, 'rag', 'request_s_sum')} | "
                     f"{conc} | {g(s, 'rss_after_answers_mb', 'VmRSS')} | {g(s, 'at_ready_mb', 'VmHWM')} |")
    lines.append(f"| llama.cpp Q4_K_M | {g(lc, 'corpus_300', 'ttft_s')} | {g(lc, 'corpus_1000', 'ttft_s')} | "
                 f"{g(lc, 'corpus_300', 'request_s')} | {g(lc, 'corpus_1000', 'request_s')} | "
                 f"{g(lc, 'corpus_1000', 'decode_tok_s')} | — | {g(lc, 'quote', 'decode_tok_s')} | 1 | — | — | — | — | — |")
    both = (eng.get("both") or {}).get("error")
    if both:
        lines += ["", f"Prompt lookup and a draft model together: refused by openvino-genai (`{both}`)."]
    return lines


def update_readme(o: dict) -> None:
    readme = BENCH / "README.md"
    text = readme.read_text()
    block = render(o)
    if START in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + block + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    update_readme(json.loads(RESULTS.read_text()))
