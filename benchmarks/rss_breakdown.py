"""Where the served process's memory goes: the servable's parts loaded one at a time in a fresh
child from the same environment the host gets, RSS read after each step.

    python + ragbot + its libraries (openvino, openvino-genai, faiss, tokenizers, LangChain core)
    -> + LLM (weights, compiled) -> + embeddings model -> + index (vectors + text, BM25)
    (RagService.start's order; peak_mb is the process's VmHWM when loaded: the peak while loading)
    -> + the first (short) answer: what the plugin allocates at its first inference
    -> + KV cache and activations (8 concurrent answers, as the served bench runs; the engine
       touches KV pages as tokens are written, so this is the part the KV plan bounds)

Then, each in its own fresh interpreter, the import cost of what the genai serving path no
longer loads (torch, transformers' AutoTokenizer, sentence-transformers, and LangChain's
community package): the memory the torch-free path saves. The host itself (gRPC server,
ovms_host) is the difference between the served RSS and the sum here.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from .common import child_args, emit

IMPORTS = {
    "torch": "import torch",
    "transformers_autotokenizer": "from transformers import AutoTokenizer",
    "sentence_transformers": "import sentence_transformers",
    "langchain_community": "from langchain_community.vectorstores import FAISS",
}


def rss_mb(field: str = "VmRSS") -> float:
    """This process's resident set (VmHWM: its peak so far)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def import_cost_mb(statement: str) -> dict:
    code = (f"import json, time\nfrom benchmarks.rss_breakdown import rss_mb\nb = rss_mb(); t = time.perf_counter()\n"
            f"{statement}\nprint(json.dumps({{'mb': round(rss_mb() - b, 1), 's': round(time.perf_counter() - t, 2)}}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"error": r.stderr[-300:]}


def main() -> None:
    a = child_args()
    steps = {"python": rss_mb()}
    from ragbot.acquisition.online import embedding_folder
    from ragbot.answering.service import RagService
    from ragbot.backends.loading import load_backend
    from ragbot.knowledge.embeddings import load_embeddings
    from ragbot.settings import Settings

    from .rag_inprocess import answer_once
    from .served import REPO, questions

    import faiss  # noqa: F401
    import openvino  # noqa: F401
    import openvino_genai  # noqa: F401
    steps["libraries"] = rss_mb()
    settings = Settings.from_env(REPO / "servable_stream", a["env"])
    backend = load_backend(settings)  # in RagService.start's order: the LLM first
    steps["llm_weights"] = rss_mb()
    peak_llm = rss_mb("VmHWM")
    embeddings = load_embeddings(embedding_folder(settings), settings.embedding_model,
                                 settings.embedding_precision)
    steps["embeddings_model"] = rss_mb()
    service = RagService.start(settings, embeddings=embeddings, backend=backend)
    steps["index"] = rss_mb()
    peak_loading = rss_mb("VmHWM")
    try:
        answer_once(service, "warm-up: what is in the documents?", 8)
        steps["first_answer"] = rss_mb()  # compiled kernels' scratch and repacked weights
        asked = a.get("questions") or questions(8, offset=3)
        threads = [threading.Thread(target=answer_once, args=(service, q)) for q in asked]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        steps["kv_cache_and_activations"] = rss_mb()
        kv_plan_mb = None
        engine = getattr(backend, "engine", None)
        if engine is not None:
            from ragbot.backends.genai import engine_kv_bytes

            kv_bytes = engine_kv_bytes(engine._pipe)
            kv_plan_mb = round(kv_bytes / 2**20, 1) if kv_bytes is not None else None
    finally:
        service.close()
    order = list(steps)
    parts = {order[i]: round(steps[order[i]] - steps[order[i - 1]], 1) for i in range(1, len(order))}
    parts["python"] = steps["python"]
    emit({"steps_rss_mb": steps, "parts_mb": parts, "total_mb": steps[order[-1]], "peak_mb": peak_loading,
          "peak_after_llm_mb": peak_llm,
          "kv_cache_allocated_mb": kv_plan_mb, "chunks": service.holder.current.chunk_count,
          "not_loaded_import_cost": {k: import_cost_mb(v) for k, v in IMPORTS.items()},
          "torch_imported": "torch" in sys.modules, "backend": settings.llm_backend})


if __name__ == "__main__":
    main()
