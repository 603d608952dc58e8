"""What the OpenAI-compatible gateway costs: the same answers streamed straight over KServe gRPC
and through the gateway (`python -m gateway`, SSE over HTTP), from one host, in the same run.

- gateway_vs_grpc_decode: decode tok/s through the gateway / direct (goal >= 0.97);
  decode tok/s = (completion_tokens - 1) / (first -> last text chunk), completion_tokens from
  the usage the servable reports (end_signal directly, the usage chunk through the gateway).
- gateway_added_ttft_ms: the median over 30 back-to-back pairs of (TTFT through the gateway -
  TTFT direct), short answers (goal <= 5 ms); TTFT = request sent -> first text chunk, both
  clients on warm connections. (Single TTFTs vary by +-10-30 ms on the shared cores; pairing
  cancels most of the drift.)

The host serves the real servable (probes.start_host) with the test models (tiny-random
+ all-MiniLM-L6-v2, built in seconds) and the tests' small knowledge base, greedy decoding,
so both paths get the same prompt and the same tokens. The gateway's cost does not depend on the
model's weights, only on how often tokens come, so the decode is measured twice:
  - "paced": each decoding step padded to the served INT4 model's step time (its served decode
    tok/s from results.json, else 28 tok/s) with the slow-steps backend double
    (probes/backend_doubles): the goal figures;
  - "unpaced": tiny-random at full speed (hundreds of tok/s, competing for the 2 cores with
    the gateway and the client): a stress figure, reported beside the goal.
Rounds alternate which path goes first. `BENCH_STAGE=gateway make bench` (or
`python -m benchmarks.gateway_bench`) runs only this and merges it into results.json.
"""
from __future__ import annotations

import json
import statistics
import time

from .paths import CACHE, RESULTS

QUESTION = "What colour is the zorblat fruit and where is it grown?"
DEFAULT_PACE_TOK_S = 28.0
CONFIGS = {  # name: (decode rounds, max_new_tokens)
    "paced": (6, 64),
    "unpaced": (10, 256),
}
TTFT_ROUNDS, TTFT_TOKENS = 30, 2  # short answers: many TTFT pairs for little time


def _decode(t0: float, arrivals: list[float], completion_tokens: int) -> dict:
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0
    return {"ttft_s": arrivals[0] - t0 if arrivals else None, "chunks": len(arrivals),
            "completion_tokens": completion_tokens,
            "decode_tok_s": (completion_tokens - 1) / span if span > 0 and completion_tokens > 1 else None}


class DirectClient:
    """KServe gRPC streaming on one kept connection (tritonclient: one stream at a time)."""

    def __init__(self, url: str):
        import tritonclient.grpc as grpcclient

        self.url = url
        self.client = grpcclient.InferenceServerClient(url)
        self.client.is_server_live()  # connect now, not inside the first TTFT

    def once(self, question: str, new_tokens: int) -> dict:
        from probes.kserve import KServeStream

        body = {"question": question, "max_new_tokens": new_tokens, "temperature": 0}
        t0 = time.perf_counter()  # a stream per request, as client/stream.py does: its set-up counts
        with KServeStream(self.url, client=self.client) as s:
            last = s.send(body).finish(timeout=300)
            if last.kind != "end":
                raise RuntimeError(last.payload)
            usage = last.payload.get("usage", {})
            return _decode(t0, s.arrivals, usage.get("completion_tokens") or 0)

    def close(self):
        self.client.close()


class GatewayClient:
    """The gateway's SSE stream over one kept HTTP connection (httpx)."""

    def __init__(self, base_url: str):
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=300)
        self.http.get("/v3/models").raise_for_status()  # connect now

    def once(self, question: str, new_tokens: int) -> dict:
        body = {"model": "python_model", "stream": True, "stream_options": {"include_usage": True},
                "max_tokens": new_tokens, "temperature": 0,
                "messages": [{"role": "user", "content": question}]}
        arrivals, tokens = [], 0
        t0 = time.perf_counter()
        with self.http.stream("POST", "/v3/chat/completions", json=body) as r:
            r.raise_for_status()
            for line in r.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    raise RuntimeError(chunk["error"])
                if chunk.get("usage"):
                    tokens = chunk["usage"]["completion_tokens"]
                elif chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                    arrivals.append(time.perf_counter())
        return _decode(t0, arrivals, tokens)

    def close(self):
        self.http.close()


def _ratio(a, b):
    return round(a / b, 3) if a and b else None


def _median(runs: list[dict], key: str):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def measure(step_delay_s: float | None, rounds: int, new_tokens: int) -> dict:
    """One host (+ gateway) started for this configuration; `rounds` x (direct, gateway)."""
    from probes.backend_doubles import backend_env
    from probes.gateway import start_gateway
    from probes.host import start_host
    from probes.knowledge import SERVABLE, rag_env, write_knowledge

    extra = {"MAX_NEW_TOKENS": str(new_tokens)}
    if step_delay_s:
        extra.update(backend_env("slow-steps"), RAGBOT_TEST_STEP_DELAY_S=f"{step_delay_s:.4f}")
    env = rag_env(write_knowledge(CACHE / "gateway_kb"), **extra)
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(timeout=600)
        with start_gateway(host.grpc_url) as gw:
            direct, through = DirectClient(host.grpc_url), GatewayClient(gw.url)
            try:
                direct.once("warm-up", 4), through.once("warm-up", 4)
                runs = {"direct": [], "gateway": []}
                order = [("direct", direct), ("gateway", through)]
                for i in range(rounds):
                    for name, client in (order if i % 2 == 0 else order[::-1]):
                        runs[name].append(client.once(QUESTION, new_tokens))
                pairs = []
                for i in range(TTFT_ROUNDS):
                    got = {name: client.once(QUESTION, TTFT_TOKENS)["ttft_s"]
                           for name, client in (order if i % 2 == 0 else order[::-1])}
                    pairs.append((got["direct"], got["gateway"]))
            finally:
                direct.close(), through.close()
    out = {"rounds": rounds, "max_new_tokens": new_tokens, "step_delay_s": step_delay_s}
    for name, rs in runs.items():
        out[name] = {"ttft_ms_median": round(_median(rs, "ttft_s") * 1000, 2),
                     "decode_tok_s_median": round(_median(rs, "decode_tok_s"), 2),
                     "completion_tokens": sorted({r["completion_tokens"] for r in rs}),
                     "ttft_ms_runs": [round(r["ttft_s"] * 1000, 2) for r in rs]}
    d, g = out["direct"], out["gateway"]
    out["decode_ratio"] = round(g["decode_tok_s_median"] / d["decode_tok_s_median"], 3)
    out["added_ttft_ms"] = round(statistics.median(gw - dr for dr, gw in pairs) * 1000, 2)
    out["ttft_pairs"] = {"rounds": TTFT_ROUNDS, "max_new_tokens": TTFT_TOKENS,
                         "direct_ms_median": round(statistics.median(dr for dr, _ in pairs) * 1000, 2),
                         "gateway_ms_median": round(statistics.median(gw for _, gw in pairs) * 1000, 2)}
    return out


def served_pace(results: dict | None) -> float:
    tok_s = None
    if results:
        tok_s = ((results.get("goals") or {}).get("served_vs_inprocess_decode") or {}) \
            .get("raw", {}).get("served_decode_tok_s")
    return float(tok_s or DEFAULT_PACE_TOK_S)


def gateway_measurements(results: dict | None = None, log=print) -> dict:
    pace = served_pace(results)
    detail = {}
    for name, (rounds, new_tokens) in CONFIGS.items():
        log(f"gateway bench: {name} ({rounds} rounds x {new_tokens} tokens)")
        t0 = time.perf_counter()
        try:
            detail[name] = measure(1.0 / pace if name == "paced" else None, rounds, new_tokens)
        except Exception as e:  # report, don't lose the rest of the bench
            detail[name] = {"error": f"{type(e).__name__}: {str(e)[-1500:]}"}
        detail[name]["_wall_s"] = round(time.perf_counter() - t0, 1)
        log(f"  {json.dumps({k: v for k, v in detail[name].items() if k in ('decode_ratio', 'added_ttft_ms', 'error')})}")
    p, u = detail["paced"], detail["unpaced"]

    def brief(d: dict) -> dict:
        return {"direct_decode_tok_s": (d.get("direct") or {}).get("decode_tok_s_median"),
                "gateway_decode_tok_s": (d.get("gateway") or {}).get("decode_tok_s_median"),
                "direct_ttft_ms": (d.get("direct") or {}).get("ttft_ms_median"),
                "gateway_ttft_ms": (d.get("gateway") or {}).get("ttft_ms_median")}

    return {
        "_detail": detail,
        "gateway_vs_grpc_decode": {
            "value": p.get("decode_ratio"),
            "raw": {**brief(p), "paced_tok_s": pace, "max_new_tokens": p.get("max_new_tokens"),
                    "rounds": p.get("rounds"), "unpaced_ratio": u.get("decode_ratio"),
                    "unpaced_direct_tok_s": brief(u)["direct_decode_tok_s"],
                    "unpaced_gateway_tok_s": brief(u)["gateway_decode_tok_s"],
                    "model": "tiny-random (servable + host), greedy", "error": p.get("error")}},
        "gateway_added_ttft_ms": {
            "value": p.get("added_ttft_ms"),
            "raw": {"pairs": TTFT_ROUNDS, **{f"{k}": v for k, v in (p.get("ttft_pairs") or {}).items()
                                             if k.endswith("median")},
                    "gateway_vs_grpc_ttft": _ratio((p.get("ttft_pairs") or {}).get("gateway_ms_median"),
                                                   (p.get("ttft_pairs") or {}).get("direct_ms_median")),
                    "unpaced_added_ttft_ms": u.get("added_ttft_ms"), "error": p.get("error")}},
    }


GATEWAY_KEYS = ("gateway_vs_grpc_decode", "gateway_added_ttft_ms")


def merge_into_results(log=print) -> dict:
    """Run the gateway stage alone and merge it into the last results.json (and the README)."""
    from .report import relative, update_readme

    res = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    out = gateway_measurements(res, log)
    res["gateway"] = out
    res.setdefault("goals", {})
    for k in GATEWAY_KEYS:
        res["goals"][k] = out[k]
    res = relative(res)
    RESULTS.write_text(json.dumps(res, indent=2))
    if "inprocess" in res:
        update_readme(res)
    return {k: out[k] for k in GATEWAY_KEYS}


if __name__ == "__main__":
    print(json.dumps(merge_into_results(), indent=2))
