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
    lines = [START, "", f"Bench wall time: {o.get('bench_wall_s')} s (models and llama.cpp cached).", "",
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
    p = o["properties"]
    lines += ["", f"Chosen OpenVINO properties: `{json.dumps(p['chosen'])}`", "",
              f"Decode sweep (tok/s, 64-token prompt): `{json.dumps(p['decode_sweep_tok_s'])}`", "",
              f"TTFT sweep (s, 1000 tokens): `{json.dumps(p['ttft_sweep_s'])}`", "",
              f"Model build s: `{json.dumps(o['models'].get('build_s'))}`; sizes MB: "
              f"`{json.dumps(o['models'].get('size_mb'))}`", "", END]
    return "\n".join(lines)


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
