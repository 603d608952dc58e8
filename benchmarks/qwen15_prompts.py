"""The token ids the qwen15 rows feed our engine and llama.cpp alike:

- corpus_<n>_<i>: exactly n ids of the stdlib corpus text (a different text per i: prefix
  caching would turn a repeated prompt into a cache hit), as the other llama.cpp rows use;
- quote: the RAG prompt the servable renders for the quoting question (retrieval, budget,
  chat template: whatever the preset's answering profile does), captured from a RagService
  built from the host's very environment with a backend that records its prompt and
  generates nothing (so no LLM is loaded here). It also builds or loads the persisted index
  the hosts then reuse.
"""
from __future__ import annotations

from .common import child_args, emit, prompt_ids
from .served import REPO


def capture_prompts(env: dict, questions: list[str]) -> dict[str, list[int]]:
    from ragbot.answering.request import ChatRequest
    from ragbot.answering.service import RagService
    from ragbot.backends.contract import Backend
    from ragbot.backends.folder_tokenizer import FolderTokenizer
    from ragbot.settings import Settings

    class PromptCapture(Backend):
        name = "capture"

        def __init__(self, tokenizer, stops):
            super().__init__(tokenizer, stops)
            self.prompts: list[list[int]] = []

        def generate(self, prompt, options, run):
            self.prompts.append(self.encode(prompt))
            run.stats.finish_reason = "stop"
            return iter(())

    settings = Settings.from_env(REPO / "servable_stream", env)
    capture = PromptCapture(FolderTokenizer.load(settings.llm_model_dir), settings.preset.stop_strings)
    service = RagService.start(settings, backend=capture)
    try:
        out = {}
        for q in questions:
            before = len(capture.prompts)
            answer = service.answer(ChatRequest(question=q))
            for _ in answer:
                pass
            if len(capture.prompts) == before:
                raise RuntimeError(f"no passage answered {q!r}: the knowledge base does not cover it")
            out[q] = capture.prompts[-1]
        return out
    finally:
        service.close()


def main() -> None:
    a = child_args()
    out = {"questions": capture_prompts(a["env"], a["questions"])}
    for n in a.get("corpus_tokens", (300, 1000)):
        for i in range(a.get("corpus_repeats", 2)):
            out[f"corpus_{n}_{i}"] = prompt_ids(a["env"]["LLM_MODEL_DIR"], n, offset=i)
    emit(out)


if __name__ == "__main__":
    main()
