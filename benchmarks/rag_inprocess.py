"""In-process side of served_vs_inprocess_decode: ragbot's RagService built from the same
environment the host gets (same LLM backend, model, OV_CONFIG, knowledge base, persisted index),
answering the same questions; timed with the same clock as the gRPC side (served.decode_figures).
Also reports the index size (chunks) and how long building/loading it took.
"""
from __future__ import annotations

import time

from .common import child_args, emit
from .served import REPO, _public, decode_figures, questions


def answer_once(service, question: str, new_tokens: int | None = None) -> dict:
    from ragbot.answering.request import ChatRequest

    t0 = time.perf_counter()
    arrivals = []
    # exactly new_tokens, as the served side asks (ignore_eos)
    answer = service.answer(ChatRequest(question=question, max_new_tokens=new_tokens, ignore_eos=True))
    for piece in answer:
        if piece:
            arrivals.append(time.perf_counter())
    end_t = time.perf_counter()
    info = answer.end.to_wire()
    return decode_figures(t0, arrivals, end_t, info.get("usage", {}), info.get("finish_reason"))


def main() -> None:
    a = child_args()
    from ragbot.answering.service import RagService
    from ragbot.settings import Settings

    settings = Settings.from_env(REPO / "servable_stream", a["env"])
    t0 = time.perf_counter()
    service = RagService.start(settings)
    load_s = time.perf_counter() - t0
    report = service.knowledge.status_parts()[0]
    try:
        answer_once(service, "warm-up: what is in the documents?", 8)
        runs = [answer_once(service, q) for q in questions(2, offset=0)]
    finally:
        service.close()
    emit({"load_s": round(load_s, 1), "chunks": report.chunks if report else None,
          "index_s": round(report.seconds, 1) if report else None,
          "embedded_chunks": report.embedded_chunks if report else None,
          "runs": [_public(r) for r in runs],
          "best": _public(max(runs, key=lambda r: r["decode_tok_s"] or 0))})


if __name__ == "__main__":
    main()
