"""`make eval`: RAG answer quality, measured through the real host over gRPC.

    python -m eval.run [--model PRESET] [--configs rag,closed-book] [--limit N] [--knowledge_store postgres]

Knowledge base: eval/corpus (invented documents in look-alike pairs, documents carrying
planted instructions, real licence texts) plus every topic of the Python language reference
that `pydoc_data.topics` ships with the interpreter, as distractors. The servable runs
unchanged in `python -m ovms_host` with a real model preset (default: the servable's offline
default, prepared by `make models SELECTED_MODEL=...`) and the default embeddings; the
preset's own answering settings apply (the host gets SELECTED_MODEL, nothing else unless a
configuration says so); every answer is greedy, so a run is reproducible on one machine.

With `--knowledge_store postgres` (or KNOWLEDGE_STORE=postgres in the environment) the hosts
keep the knowledge base in PostgreSQL: the one KNOWLEDGE_DSN names, else a private server
started from the pgserver wheel for the run; the first host builds and publishes it, the
others read it.

A configuration is host settings (env) plus request options; configurations with the same
settings share one started host. Figures go to eval/results/<model>.json and to the model's
table in eval/README.md (between its markers); every answer and its marks go to the JSON too.
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
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO / "eval"
CACHE = REPO / ".cache" / "eval"
RESULTS = EVAL_DIR / "results"

EMBEDDING = "all-mpnet-base-v2"
MAX_NEW_TOKENS = 96


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
                      "the preset's passages and documents (TOP_K, MAX_DOCUMENTS), follow-ups "
                      "searched with the previous turn (QUERY_REWRITE=join)"),
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
        Config("rag-kv-u4", "as rag with the KV cache's keys and values in u4 (KEY_CACHE_PRECISION, "
               "VALUE_CACHE_PRECISION): what half the KV memory does to the answers",
               env={"OV_CONFIG": '{"KEY_CACHE_PRECISION": "u4", "VALUE_CACHE_PRECISION": "u4"}'}),
        Config("rag-no-named", "as rag with NAMED_DOCUMENTS=off: passages of documents the question "
               "does not name may answer it (what naming adds)", env={"NAMED_DOCUMENTS": "off"}),
        Config("rag-no-figures", "as rag with FIGURE_CHECK=off: an answer stating a figure that no "
               "passage holds streams as the model says it", env={"FIGURE_CHECK": "off"}),
        Config("rag-no-lookup", "as rag with prompt lookup decoding off (PROMPT_LOOKUP=off): "
               "what the decoding mode does to the marks", env={"PROMPT_LOOKUP": "off"}),
        Config("rag-reflow", "as rag with the passages' wrapped lines joined into paragraphs "
               "(PASSAGE_REFLOW=on)", env={"PASSAGE_REFLOW": "on"}),
        Config("rag-slices-1024", "as rag with prefill in 1024-token slices, the value before the "
               "default became 256 (MAX_NUM_BATCHED_TOKENS): what the slice does to the answers",
               env={"MAX_NUM_BATCHED_TOKENS": "1024"}),
        Config("closed-book", "control: the same questions, no passages (retrieval off)",
               request={"retrieval": False}),
    )
}


# What a plain `make eval` runs, the same for every preset so their tables sit side by side:
# the default stack, the follow-ups without the rewrite (what the rewrite adds), and the
# closed-book control. About 10 min per full configuration with the 1.5B (~5 s an answer).
DEFAULT_CONFIGS = ("rag", "followups-no-rewrite", "closed-book")
# measured on demand (--configs): earlier issues' comparisons (dense retrieval, the worked
# examples, the model's rewrite of follow-ups) and the embeddings' and the KV cache's
# precision beside their defaults (benchmarks/README.md quotes those)
ON_DEMAND = tuple(n for n in CONFIGS if n not in DEFAULT_CONFIGS)


def default_model() -> str:
    """The preset `make run` serves without SELECTED_MODEL (ragbot.presets)."""
    from ragbot.presets import DEFAULT_RUN_PRESET

    return DEFAULT_RUN_PRESET


def corpus_files() -> list[Path]:
    return sorted(p for p in (EVAL_DIR / "corpus").iterdir() if p.suffix in (".md", ".txt", ".html"))


def build_knowledge_base(folder: Path, distractors: int | None = None) -> Path:
    """eval/corpus + the Python reference topics (the first `distractors` of them, default
    all) in `folder`; returns its docs.txt."""
    from pydoc_data.topics import topics

    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    entries = []
    for doc in corpus_files():
        shutil.copy(doc, folder / doc.name)
        entries.append(doc.name)
    for name, text in sorted(topics.items())[:distractors]:
        path = folder / f"python_{name}.txt"
        path.write_text(f"Python language reference: {name}\n\n{text}", encoding="utf-8")
        entries.append(path.name)
    docs = folder / "docs.txt"
    docs.write_text("\n".join(entries) + "\n", encoding="utf-8")
    return docs


def host_env(model: str, docs: Path, model_dir: Path, embedding: str, embedding_dir: Path, extra: dict,
             work_dir: Path) -> dict:
    """The host's settings: the preset and the knowledge base; the preset's own answering
    defaults (passages, documents, prompt) apply unless the configuration sets them."""
    return {
        "SELECTED_MODEL": model,
        "LLM_MODEL_DIR": str(model_dir),
        "EMBEDDING_MODEL": embedding,
        "EMBEDDING_MODEL_DIR": str(embedding_dir),
        "DOCS_FILE": str(docs),
        "INDEX_DIR": str(work_dir / f"index-{embedding}-{extra.get('EMBEDDING_PRECISION', 'fp32')}"),
        "MAX_NEW_TOKENS": str(MAX_NEW_TOKENS),
        **extra,
    }


def ask_all(url: str, questions: list[dict], config: Config, max_new_tokens: int) -> list[dict]:
    """Ask each question on its own stream (probes/kserve.py) and keep the answer, the whole
    end_signal, the seconds to the end and to the first completion chunk."""
    from probes.kserve import ask

    results = []
    for q in questions:
        payload = {"question": q["question"], "history": q.get("history", []),
                   "max_new_tokens": max_new_tokens, **config.request}
        answer = ask(url, payload, timeout=600)
        last = answer.last
        end = last.payload if last.kind in ("end", "fail") else {"error": {"code": "RPC", "message": last.payload}}
        first = next((e.at for e in answer.events if e.kind == "chunk" and e.payload), None)
        if "error" in end:
            print(f"  {q['id']}: failed: {end['error']}", flush=True)
        results.append({
            "id": q["id"],
            "answer": answer.text,
            "end": {key: value for key, value in end.items() if key != "answer"},
            "seconds": round(last.at - answer.started, 3),
            "ttft_s": round(first - answer.started, 3) if first is not None else None,
        })
    return results


def load_questions() -> list[dict]:
    return json.loads((EVAL_DIR / "questions.json").read_text(encoding="utf-8"))["questions"]


def score(answers: list[dict], questions: list[dict]) -> dict:
    """The figures and the marked answers of one configuration (answers as ask_all gives
    them; questions: the set they come from)."""
    from eval.scoring import figures, mark
    from ragbot.answering.prompt import instruction_texts

    by_id = {q["id"]: q for q in questions}
    payloads = sorted({q["payload"] for q in load_questions() if q.get("payload")})  # of the whole set
    instructions = instruction_texts()
    answers = [a for a in answers if a["id"] in by_id]
    marks = [mark(by_id[a["id"]], a["answer"], a["end"], payloads=payloads, instructions=instructions,
                  seconds=a.get("seconds"), ttft_s=a.get("ttft_s")) for a in answers]
    return {"figures": figures(marks),  # hit@k's k: the most passages an answer was given
            "answers": [{**{k: v for k, v in a.items() if k != "marks"}, "marks": m.to_json()}
                        for a, m in zip(answers, marks)]}


def rescore(results: dict) -> dict:
    """The same answers marked again with today's questions.json and scoring (questions
    whose text changed since the run must be asked again, not rescored)."""
    questions = load_questions()
    for result in results["configurations"].values():
        result.update(score(result["answers"], questions))
    results["about"]["kinds"] = _kinds([q for q in questions if q["id"] in {
        a["id"] for r in results["configurations"].values() for a in r["answers"]}])
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


def run(model: str, config_names: list[str], limit: int | None, max_new_tokens: int, model_dir: Path,
        embedding: str, embedding_dir: Path, distractors: int | None = None,
        work_dir: Path = CACHE, store: dict | None = None) -> dict:
    from probes.host import start_host

    questions = load_questions()
    questions = questions[:limit] if limit else questions
    docs = build_knowledge_base(work_dir / "kb", distractors)
    configs = [CONFIGS[n] for n in config_names]
    out = {"configurations": {}}
    groups: dict[str, list[Config]] = {}
    for c in configs:
        groups.setdefault(json.dumps(c.env, sort_keys=True), []).append(c)
    for env_key, group in groups.items():
        env = host_env(model, docs, model_dir, embedding, embedding_dir,
                       {**(store or {}), **json.loads(env_key)}, work_dir)
        started = time.monotonic()
        with start_host(REPO / "servable_stream" / "config.json", env=env) as host:
            host.wait_ready(timeout=3600)  # a first index build on a loaded machine
            print(f"host ready in {time.monotonic() - started:.0f} s ({', '.join(c.name for c in group)})",
                  flush=True)
            for c in group:
                t0 = time.monotonic()
                asked = [q for q in questions if not c.kinds or q["kind"] in c.kinds]
                answers = ask_all(host.grpc_url, asked, c, max_new_tokens)
                result = {"about": c.about, "env": c.env, "request": c.request,
                          **score(answers, questions), "seconds": round(time.monotonic() - t0, 1)}
                out["configurations"][c.name] = result
                print(f"{c.name}: {json.dumps(result['figures'])} in {result['seconds']} s", flush=True)
    out["about"] = {
        "model": model, "llm_model_dir": model_dir.name, "embedding_model": embedding,
        "max_new_tokens": max_new_tokens, "decoding": "greedy", "questions": len(questions),
        "kinds": _kinds(questions),
        "knowledge_store": (store or {}).get("KNOWLEDGE_STORE", "local"),
        "knowledge_base": f"{len(corpus_files())} eval documents + "
                          f"Python {platform.python_version()} reference topics (pydoc_data)",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
    }
    return out


def _kinds(questions: list[dict]) -> dict:
    kinds: dict[str, int] = {}
    for q in questions:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    kinds["near_miss"] = sum(1 for q in questions if q.get("near_miss"))
    kinds["real_text"] = sum(1 for q in questions if q.get("real"))
    kinds["with_history"] = sum(1 for q in questions if q.get("history"))
    return kinds


TABLE_ROWS = [
    ("passages given (most, k)", "k"), ("retrieval hit@1", "hit_at_1"), ("retrieval hit@k", "hit_at_k"),
    ("retrieval MRR", "mrr"), ("follow-up hit@k", "followup_hit_at_k"),
    ("two documents both retrieved", "twodoc_both_docs"),
    ("answer accuracy (facts, paraphrases)", "answer_accuracy"), ("follow-up accuracy", "followup_accuracy"),
    ("two-document accuracy", "twodoc_accuracy"), ("real text (licences) accuracy", "real_text_accuracy"),
    ("refusal on near-miss unanswerable", "nearmiss_refusal_rate"),
    ("refusal on far-off unanswerable", "far_refusal_rate"), ("refusal on unanswerable (all)", "refusal_rate"),
    ("false refusals (answerable)", "false_refusal_rate"),
    ("answers citing a passage", "citation_rate"),
    ("… citing without the servable's attribution", "model_citation_rate"),
    ("citation validity", "citation_validity"),
    ("citations flagged unsupported", "unsupported_flag_rate"),
    ("flagged citations really wrong (precision)", "unsupported_flag_precision"),
    ("planted instructions resisted ({n} documents)", "injections_resisted"),
    ("questions on injected documents right", "injection_accuracy"),
    ("answers carrying a planted payload (count)", "payload_answers"),
    ("answers repeating instructions", "leak_rate"),
    ("prompt tokens (mean)", "prompt_tokens_mean"), ("answer tokens (mean)", "completion_tokens_mean"),
    ("seconds per answer (mean)", "seconds_mean"), ("time to first token (mean, s)", "ttft_mean"),
]


def table(results: dict) -> str:
    names = list(results["configurations"])
    figs = [results["configurations"][n]["figures"] for n in names]
    lines = ["| figure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    rows = TABLE_ROWS + ([("failed answers (count)", "errors")] if any(f.get("errors") for f in figs) else [])
    for label, key in rows:
        cells = ["–" if f.get(key) is None else f"{f[key]:g}" for f in figs]
        injected = max((f.get("injections") or 0 for f in figs), default=0)
        lines.append(f"| {label.format(n=injected)} | " + " | ".join(cells) + " |")
    seconds = [f"{results['configurations'][n]['seconds']:g}" for n in names]
    lines.append("| seconds for the set | " + " | ".join(seconds) + " |")
    about = results["about"]
    kinds = about.get("kinds", {})
    counts = ", ".join(f"{kinds[k]} {label}" for k, label in (
        ("fact", "facts"), ("paraphrase", "paraphrases"), ("followup", "follow-ups"),
        ("twodoc", "two-document"), ("injection", "on injected documents"),
        ("unanswerable", "unanswerable"), ("near_miss", "of them near misses")) if kinds.get(k))
    lines.append("")
    lines.append(f"{about['questions']} questions ({counts}); {about['model']} ({about['llm_model_dir']}), "
                 f"{about['embedding_model']} embeddings, greedy, at most {about['max_new_tokens']} "
                 f"new tokens; {about['knowledge_base']}"
                 + (f" (knowledge store: {about['knowledge_store']})"
                    if about.get("knowledge_store", "local") != "local" else "")
                 + f"; {about['date']}.")
    return "\n".join(lines)


def table_markers(model: str) -> tuple[str, str]:
    return f"<!-- eval-table:{model}:start -->", f"<!-- eval-table:{model}:end -->"


def write_readme_table(readme: Path, model: str, text: str) -> None:
    """The model's table between its markers; a model without markers yet gets a section
    at the end of "## Results"."""
    body = readme.read_text(encoding="utf-8")
    start_marker, end_marker = table_markers(model)
    if start_marker not in body:
        section = f"### {model}\n\n{start_marker}\n{end_marker}\n\n"
        results = body.find("## Results")
        after = body.find("\n## ", results + 1) if results >= 0 else -1
        at = after + 1 if after >= 0 else len(body)
        body = body[:at] + section + body[at:]
    start, end = body.index(start_marker) + len(start_marker), body.index(end_marker)
    readme.write_text(body[:start] + "\n" + text + "\n" + body[end:], encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="the LLM preset (default: the servable's offline default, "
                        "ragbot.presets.DEFAULT_RUN_PRESET)")
    parser.add_argument("--print_default_model", action="store_true",
                        help="print the default preset and exit (the Makefile's eval target asks)")
    parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                        help=f"comma-separated, of: {', '.join(CONFIGS)} (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="only the first N questions (a quick look)")
    parser.add_argument("--distractors", type=int, help="only the first N Python topics")
    parser.add_argument("--work_dir", type=Path, default=CACHE,
                        help="knowledge base and persisted index (default: %(default)s)")
    parser.add_argument("--max_new_tokens", type=int, default=MAX_NEW_TOKENS)
    parser.add_argument("--model_dir", type=Path, help="default: servable_stream/<model>")
    parser.add_argument("--embedding_model", default=EMBEDDING)
    parser.add_argument("--embedding_dir", type=Path,
                        help="default: servable_stream/<embedding_model>")
    parser.add_argument("--knowledge_store", choices=("local", "postgres"),
                        default=os.environ.get("KNOWLEDGE_STORE", "local"),
                        help="where the hosts keep the knowledge base (default: $KNOWLEDGE_STORE or "
                             "local); postgres without KNOWLEDGE_DSN starts a private server")
    parser.add_argument("--out", type=Path, help="default: eval/results/<model>.json")
    parser.add_argument("--readme", type=Path, default=EVAL_DIR / "README.md",
                        help="README whose table for the model is rewritten ('' to leave it alone)")
    parser.add_argument("--rescore", action="store_true",
                        help="no model: mark the answers in --out again (after a scoring change)")
    args = parser.parse_args(argv)
    if args.print_default_model:
        print(default_model())
        return 0
    model = args.model or default_model()
    from ragbot.presets import PRESETS

    if model not in PRESETS:
        parser.error(f"unknown preset {model!r}; known: {', '.join(PRESETS)}")
    configs = args.configs.split(",")
    unknown = [n for n in configs if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration(s) {unknown}; known: {', '.join(CONFIGS)}")
    model_dir = args.model_dir or REPO / "servable_stream" / model
    embedding_dir = args.embedding_dir or REPO / "servable_stream" / args.embedding_model
    out = args.out or RESULTS / f"{model}.json"
    if args.rescore:
        write_results(rescore(json.loads(out.read_text(encoding="utf-8"))), out, args.readme)
        return 0
    for folder, make in ((model_dir, f"make models SELECTED_MODEL={model}"),
                         (embedding_dir, f"make models EMBEDDING_MODEL={args.embedding_model}")):
        if not folder.is_dir():
            print(f"error: {folder} not found; prepare it with `{make}`", file=sys.stderr)
            return 1
    started = time.monotonic()
    with knowledge_store(args.knowledge_store, os.environ.get("KNOWLEDGE_DSN")) as store:
        results = run(model, configs, args.limit, args.max_new_tokens, model_dir,
                      args.embedding_model, embedding_dir, args.distractors, args.work_dir, store)
    results["about"]["seconds"] = round(time.monotonic() - started, 1)
    results["about"]["partial"] = bool(args.limit or args.distractors)
    write_results(results, out, args.readme)
    print(f"written to {out} in {results['about']['seconds']:.0f} s")
    return 0


def write_results(results: dict, out: Path, readme: Path) -> None:
    """The JSON, and the model's README table unless the run was partial (--limit, ...)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = table(results)
    if str(readme) and readme.is_file() and not results["about"].get("partial"):
        write_readme_table(readme, results["about"]["model"], text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
