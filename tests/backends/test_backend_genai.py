"""LLM_BACKEND=genai on the tiny random model: streaming, equality with optimum, batching,
cancel, finish reasons, usage, errors. (Its words are noise; ids, counts and timing are not.)"""
from __future__ import annotations

import copy
import threading
import time

import pytest
from ragbot.errors import GenerationError
from ragbot.run import GenerationStats

from tests.generation import cancel_after_first_chunk, generate

pytestmark = pytest.mark.model

# lengths are forced with ignore_eos where a test needs them: a random model built on
# another machine stops elsewhere
PROMPTS = [
    "<|user|>\nTell me a story</s>\n<|assistant|>\n",
    "<|user|>\nWhat is a zorblat?</s>\n<|assistant|>\n",
    "<|user|>\nWhen does the bakery open?</s>\n<|assistant|>\n",
    "<|user|>\nDescribe the Silverrun river in detail.</s>\n<|assistant|>\n",
]
STORY = PROMPTS[0]


def run(llm, prompt, **options):
    stats = GenerationStats()
    text = "".join(generate(llm, prompt, stats=stats, **options))
    return text, stats


def test_streams_incrementally_while_the_engine_runs(genai_llm):
    stats = GenerationStats()
    started, arrivals, active_at_first = time.monotonic(), [], None
    for _chunk in generate(genai_llm, STORY, max_new_tokens=300, ignore_eos=True, stats=stats):
        if active_at_first is None:
            active_at_first = genai_llm.engine.active_count
        arrivals.append(time.monotonic() - started)
    assert active_at_first == 1  # generation still running when the first chunk arrived
    assert len(arrivals) > 10 and arrivals[0] < arrivals[-1] / 2
    assert stats.prompt_tokens == len(genai_llm.tokenizer(STORY)["input_ids"])
    assert stats.completion_tokens == 300 and stats.finish_reason == "length"


def test_greedy_output_equals_the_optimum_backend(genai_llm, optimum_llm):
    for prompt in PROMPTS[:2]:
        g_text, g_stats = run(genai_llm, prompt, max_new_tokens=80)
        o_text, o_stats = run(optimum_llm, prompt, max_new_tokens=80)
        assert g_text == o_text  # same HF tokenizer: equal text means equal ids
        assert g_stats == o_stats


def test_four_concurrent_streams_are_batched_and_each_equals_its_solo_run(genai_llm):
    lengths = [120, 90, 140, 100]
    solo = [run(genai_llm, p, max_new_tokens=n) for p, n in zip(PROMPTS, lengths)]
    results, errors, peak = {}, [], [0]
    barrier = threading.Barrier(len(PROMPTS))

    def worker(i):
        try:
            barrier.wait()
            results[i] = run(genai_llm, PROMPTS[i], max_new_tokens=lengths[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(PROMPTS))]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], genai_llm.engine.active_count)
        time.sleep(0.002)
    assert not errors
    assert peak[0] >= 2  # batched together, not queued one after another
    for i in range(len(PROMPTS)):
        assert results[i] == solo[i]  # no interleaving between streams


def test_cancel_one_of_several_stops_it_while_the_others_finish(genai_llm):
    solo = {i: run(genai_llm, PROMPTS[i], max_new_tokens=150) for i in (1, 2)}
    results = {}

    def worker(i, **options):
        results[i] = run(genai_llm, PROMPTS[i], **options)

    others = [threading.Thread(target=worker, args=(i,), kwargs={"max_new_tokens": 150}) for i in (1, 2)]
    for t in others:
        t.start()
    seconds, stats = cancel_after_first_chunk(genai_llm, STORY)
    assert seconds < 1.0
    assert stats.finish_reason == "cancelled" and stats.completion_tokens < 1500
    for t in others:
        t.join(60)
    assert results == solo  # the others ran to their normal end, untouched
    deadline = time.monotonic() + 2
    while genai_llm.engine.active_count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert genai_llm.engine.active_count == 0


def test_max_new_tokens_gives_length(genai_llm):
    text, stats = run(genai_llm, STORY, max_new_tokens=5, ignore_eos=True)
    assert (stats.completion_tokens, stats.finish_reason) == (5, "length") and text


def test_text_stop_strings_are_cut_and_end_generation(genai_llm):
    full, _ = run(genai_llm, STORY, max_new_tokens=40, ignore_eos=True)
    stop = full.strip()[5:9]
    assert stop
    cut, stats = run(genai_llm, STORY, stop=[stop], max_new_tokens=40)
    assert stop not in cut and full.startswith(cut)
    assert stats.finish_reason == "stop" and stats.completion_tokens < 40
    forced, stats = run(genai_llm, STORY, stop=[stop], max_new_tokens=40, ignore_eos=True)
    assert forced == full and (stats.completion_tokens, stats.finish_reason) == (40, "length")


def test_sampling_with_seed_is_reproducible(genai_llm):
    runs = [run(genai_llm, STORY, max_new_tokens=20, temperature=1.0)[0] for _ in range(2)]
    assert runs[0] == runs[1]


def test_invalid_settings_fail_at_once(genai_llm):
    with pytest.raises(GenerationError, match="temperature"):
        run(genai_llm, "hello", max_new_tokens=5, temperature=-1.0)


class FaultyPipe:
    """The real pipeline, whose step() fails once `fail` is set."""

    def __init__(self, pipe):
        self.pipe, self.fail = pipe, threading.Event()

    def add_request(self, *args):
        return self.pipe.add_request(*args)

    def has_non_finished_requests(self):
        return self.pipe.has_non_finished_requests()

    def step(self):
        if self.fail.is_set():
            raise RuntimeError("injected step failure")
        self.pipe.step()


def test_a_failing_step_reaches_every_waiting_stream_at_once(genai_llm):
    from ragbot.backends.genai import make_pipeline
    from ragbot.backends.genai_engine import ContinuousBatchingEngine

    from probes.models import tiny_random_dir

    faulty = FaultyPipe(make_pipeline(tiny_random_dir(), "CPU", {}))
    engine = ContinuousBatchingEngine(faulty)
    llm = copy.copy(genai_llm)  # same tokenizer and stops, the faulty engine
    llm.engine = engine
    try:
        outcomes, first_chunk = {}, threading.Barrier(3)

        def worker(i):
            try:
                stream = generate(llm, STORY, max_new_tokens=1500, ignore_eos=True)  # runs on far past the failure
                next(stream)
                first_chunk.wait()
                list(stream)
                outcomes[i] = "finished"
            except GenerationError as exc:
                outcomes[i] = (str(exc), time.monotonic())

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        first_chunk.wait()
        faulty.fail.set()
        failed_at = time.monotonic()
        for t in threads:
            t.join(5)
        assert all("injected step failure" in outcomes[i][0] for i in range(2)), outcomes
        assert all(outcomes[i][1] - failed_at < 1.0 for i in range(2))
        # the engine keeps serving: the next request fails fast too, never hangs
        with pytest.raises(GenerationError, match="injected"):
            run(llm, STORY, max_new_tokens=5)
        faulty.fail.clear()
        assert run(llm, STORY, max_new_tokens=5, ignore_eos=True)[1].finish_reason == "length"
    finally:
        engine.close()


def test_a_folder_without_openvino_tokenizer_still_stops_on_text(tmp_path, backend_docs):
    import shutil

    from ragbot.backends.loading import load_backend
    from ragbot.settings import Settings

    from probes.knowledge import SERVABLE, rag_env
    from probes.models import tiny_random_dir

    for f in tiny_random_dir().iterdir():
        if not f.name.startswith(("openvino_tokenizer", "openvino_detokenizer")):
            shutil.copy(f, tmp_path / f.name)
    llm = load_backend(Settings.from_env(SERVABLE, rag_env(backend_docs, LLM_MODEL_DIR=str(tmp_path), LLM_BACKEND="genai")))
    try:
        full, _ = run(llm, STORY, max_new_tokens=40, ignore_eos=True)
        stop = full.strip()[5:9]
        cut, stats = run(llm, STORY, stop=[stop], max_new_tokens=40)
        assert stop not in cut and full.startswith(cut) and stats.finish_reason == "stop"
    finally:
        llm.close()


def test_llm_backend_setting(backend_docs):
    from ragbot.errors import ConfigError
    from ragbot.settings import Settings

    from probes.knowledge import SERVABLE, rag_env

    assert Settings.from_env(SERVABLE, rag_env(backend_docs)).llm_backend == "optimum"
    assert Settings.from_env(SERVABLE, rag_env(backend_docs, LLM_BACKEND="GenAI")).llm_backend == "genai"
    with pytest.raises(ConfigError, match="optimum, genai"):
        Settings.from_env(SERVABLE, rag_env(backend_docs, LLM_BACKEND="vllm"))


@pytest.mark.parametrize("backend_name", ["genai", "optimum"])
def test_after_loading_the_weight_file_pages_are_given_back(tmp_path, backend_docs, caplog, monkeypatch,
                                                            backend_name):
    """Load warms the model up (the plugin reads and repacks its weights: most of the file is
    resident) and then releases the mapped file's pages: the process holds a fraction of the
    file, and the backend still generates."""
    import logging
    import shutil

    from ragbot import mapped_weights
    from ragbot.backends.loading import load_backend
    from ragbot.settings import Settings

    from probes.knowledge import SERVABLE, rag_env
    from probes.models import tiny_random_dir

    shutil.copytree(tiny_random_dir(), tmp_path / "model")  # a mapping of its own
    weights = tmp_path / "model" / "openvino_model.bin"
    released = []
    real_release = mapped_weights.release

    def spy(path):
        released.append(real_release(path))  # genai gives pages back during its warm-up too
        return released[-1]

    monkeypatch.setattr(mapped_weights, "release", spy)
    with caplog.at_level(logging.INFO, logger="ragbot.mapped_weights"):
        llm = load_backend(Settings.from_env(SERVABLE, rag_env(
            backend_docs, LLM_MODEL_DIR=str(tmp_path / "model"), LLM_BACKEND=backend_name)))
    try:
        assert "LLM: released" in caplog.text
        assert sum(released) > weights.stat().st_size // 2  # the plugin read the weights
        if backend_name == "genai":  # its tokens went through the model into the KV cache
            assert llm.engine._pipe.get_metrics().max_cache_usage > 0, "the warm-up request never ran"
        assert mapped_weights.resident_bytes(weights) < weights.stat().st_size // 4
        _, stats = run(llm, STORY, max_new_tokens=8, ignore_eos=True)
        assert stats.completion_tokens == 8
    finally:
        llm.close()
