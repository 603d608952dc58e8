"""Generation mechanics on the tiny random model (its words are noise; timing and counts are not)."""
import dataclasses
import time

import pytest
from ragbot.backends.loading import check_model_dir, load_backend
from ragbot.errors import ConfigError, GenerationError, ModelMissingError
from ragbot.run import GenerationStats

from tests.generation import generate

# lengths are forced with ignore_eos where a test needs them: a random model built on
# another machine stops elsewhere
LONG_PROMPT = "<|user|>\nTell me a story</s>\n<|assistant|>\n"


def test_chunks_arrive_while_generating_and_usage_is_counted(llm):
    stats = GenerationStats()
    started = time.monotonic()
    arrivals, lock_held_at_first = [], None
    for chunk in generate(llm, LONG_PROMPT, max_new_tokens=600, ignore_eos=True, stats=stats):
        if lock_held_at_first is None:
            lock_held_at_first = llm._lock.locked()  # generation still running
        arrivals.append(time.monotonic() - started)
    assert lock_held_at_first is True
    assert len(arrivals) > 10 and arrivals[0] < arrivals[-1] / 2
    assert stats.prompt_tokens == len(llm.tokenizer(LONG_PROMPT)["input_ids"])  # with BOS
    assert (stats.completion_tokens, stats.finish_reason) == (600, "length")


def test_max_new_tokens_gives_length(llm):
    stats = GenerationStats()
    text = "".join(generate(llm, LONG_PROMPT, max_new_tokens=5, ignore_eos=True, stats=stats))
    assert (stats.completion_tokens, stats.finish_reason) == (5, "length")
    assert text


def test_sampling_with_seed_is_reproducible(llm):
    runs = ["".join(generate(llm, LONG_PROMPT, max_new_tokens=20, temperature=1.0)) for _ in range(2)]
    assert runs[0] == runs[1]


def test_generation_error_reaches_the_consumer_at_once(llm):
    started = time.monotonic()
    with pytest.raises(GenerationError, match="temperature") as info:
        list(generate(llm, "hello", max_new_tokens=5, temperature=-1.0))  # invalid for sampling
    assert time.monotonic() - started < 2.0
    assert isinstance(info.value.__cause__, ValueError)


def test_text_stop_strings_are_cut(llm):
    full = "".join(generate(llm, LONG_PROMPT, max_new_tokens=40, ignore_eos=True))
    stop = full.strip()[5:9]
    assert stop
    stats = GenerationStats()
    cut = "".join(generate(llm, LONG_PROMPT, stop=[stop], max_new_tokens=40, stats=stats))
    assert stop not in cut and full.startswith(cut)
    assert stats.finish_reason == "stop" and stats.completion_tokens < 40
    # ignore_eos: neither that stop nor the end-of-sequence token ends the answer
    forced = "".join(generate(llm, LONG_PROMPT, stop=[stop], max_new_tokens=40, ignore_eos=True, stats=stats))
    assert forced == full and (stats.completion_tokens, stats.finish_reason) == (40, "length")


def test_gpu_device_names_gpu_and_available_devices(settings):
    with pytest.raises(ConfigError, match=r"GPU.*available devices: .*CPU"):
        load_backend(dataclasses.replace(settings, device="GPU"))


def test_missing_model_folder_names_the_scripts(tmp_path):
    with pytest.raises(ModelMissingError, match="download_model.py --model tiny-llama-1b-chat"):
        check_model_dir(tmp_path / "tiny-llama-1b-chat", "tiny-llama-1b-chat")
    with pytest.raises(ModelMissingError, match="compress_model.py --model notus-7b-v1"):
        check_model_dir(tmp_path / "notus-7b-v1_INT4_compressed_weights", "notus-7b-v1")
