"""Does Open WebUI's title request, sent beside the user's first question, delay its answer?

Open WebUI 0.12.4 (its defaults) asks the chat model for the chat's title while the first
answer is being requested (tests/gateway/fixtures/openwebui-0.12.4/task-title.json: its
history shows the question and an empty answer). Measured here through the gateway, with
those recorded bodies replayed byte for byte, on a real small model (SmolLM2-135M-Instruct,
probes.models), the repository's sample document, for each LLM backend:

- alone:  chat-first-turn.json only; TTFT = request sent -> first content chunk;
- beside: task-title.json sent, then chat-first-turn.json at once (the title first: the
  worst order for the question); the question's TTFT as above.
Rounds alternate alone / beside; the chat stream is closed after its first content chunk and
the next round starts once the title has come back. Row: ttft(beside) / ttft(alone) per
backend (`owui_title_beside_ttft_ratio_<backend>`, goal <= 1.5: "does not double").

`BENCH_STAGE=owui make bench` (or `python -m benchmarks.owui_bench`) runs only this and merges
it into results.json; ~3 min on 2 cores.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

from .paths import CACHE, RESULTS

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "gateway" / "fixtures" / "openwebui-0.12.4"
ROUNDS = 6
BACKENDS = ("optimum", "genai")


def _body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _chat_ttft(http, t_sent: list) -> float:
    """Send chat-first-turn.json; seconds to its first content chunk (then the stream is closed)."""
    t0 = time.perf_counter()
    t_sent.append(t0)
    with http.stream("POST", "/v3/chat/completions", content=_body("chat-first-turn.json"),
                     headers={"Content-Type": "application/json"}) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if line.startswith("data: {"):
                chunk = json.loads(line[6:])
                if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                    return time.perf_counter() - t0
    raise RuntimeError("the answer had no content")


def _title(http, out: dict) -> None:
    t0 = time.perf_counter()
    r = http.post("/v3/chat/completions", content=_body("task-title.json"),
                  headers={"Content-Type": "application/json"})
    r.raise_for_status()
    done = r.json()
    out.update(seconds=time.perf_counter() - t0, tokens=done["usage"]["completion_tokens"],
               content=done["choices"][0]["message"]["content"][:200])


def measure(backend: str, rounds: int = ROUNDS) -> dict:
    import httpx

    from probes.gateway import start_gateway
    from probes.host import start_host
    from probes.knowledge import SERVABLE, rag_env
    from probes.models import minilm_dir, smollm2_dir

    kb = CACHE / "owui_kb"
    kb.mkdir(parents=True, exist_ok=True)
    (kb / "openvino_model_server.md").write_bytes(
        (SERVABLE / "sample_docs" / "openvino_model_server.md").read_bytes())
    (kb / "docs.txt").write_text("openvino_model_server.md\n", encoding="utf-8")
    env = rag_env(kb / "docs.txt", SELECTED_MODEL="smollm2-135m-instruct",
                  LLM_MODEL_DIR=str(smollm2_dir()), LLM_BACKEND=backend, MAX_NEW_TOKENS="256",
                  INDEX_DIR="off")
    alone, beside, titles = [], [], []
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=600)
        with start_gateway(host.grpc_url) as gw, httpx.Client(base_url=gw.url, timeout=600) as http:
            _chat_ttft(http, [])  # warm-up: the first request's compile/caches are not measured
            _title(http, {})
            for i in range(rounds * 2):
                if i % 2 == 0:
                    alone.append(_chat_ttft(http, []))
                    continue
                title: dict = {}
                worker = threading.Thread(target=_title, args=(httpx.Client(base_url=gw.url, timeout=600),
                                                               title))
                worker.start()
                time.sleep(0.01)  # the title is on its way first
                beside.append(_chat_ttft(http, []))
                worker.join()
                titles.append(title)
    med_alone, med_beside = statistics.median(alone), statistics.median(beside)
    return {"backend": backend, "rounds": rounds,
            "ttft_alone_s": [round(x, 3) for x in alone], "ttft_beside_s": [round(x, 3) for x in beside],
            "ttft_alone_median_s": round(med_alone, 3), "ttft_beside_median_s": round(med_beside, 3),
            "ratio": round(med_beside / med_alone, 2),
            "title_s_median": round(statistics.median(t["seconds"] for t in titles), 3),
            "title_tokens": sorted({t["tokens"] for t in titles}), "title_example": titles[0]["content"]}


def owui_measurements(log=print) -> dict:
    detail = {}
    for backend in BACKENDS:
        log(f"owui bench: {backend}")
        t0 = time.perf_counter()
        try:
            detail[backend] = measure(backend)
        except Exception as e:  # report, don't lose the other backend
            detail[backend] = {"error": f"{type(e).__name__}: {str(e)[-1500:]}"}
        detail[backend]["_wall_s"] = round(time.perf_counter() - t0, 1)
        log(f"  {json.dumps({k: v for k, v in detail[backend].items() if not isinstance(v, list)})}")
    goals = {f"owui_title_beside_ttft_ratio_{b}": {
        "value": detail[b].get("ratio"),
        "raw": {k: detail[b].get(k) for k in ("ttft_alone_median_s", "ttft_beside_median_s",
                                              "title_s_median", "title_tokens", "rounds", "error")}
        | {"model": "smollm2-135m-instruct (probes.models), Open WebUI 0.12.4 bodies via the gateway"}}
        for b in BACKENDS}
    return {"_detail": detail, **goals}


def merge_into_results(log=print) -> dict:
    from .report import relative, update_readme

    res = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out = owui_measurements(log)
    res["owui"] = out
    res.setdefault("goals", {})
    keys = [k for k in out if not k.startswith("_")]
    for k in keys:
        res["goals"][k] = out[k]
    res = relative(res)
    RESULTS.write_text(json.dumps(res, indent=2))
    if "inprocess" in res:
        update_readme(res)
    return {k: out[k] for k in keys}


if __name__ == "__main__":
    print(json.dumps(merge_into_results(), indent=2))
