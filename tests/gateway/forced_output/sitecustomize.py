"""Test-only: the LLM says exactly what a test wants, through the real generation path.

Loaded by a host whose PYTHONPATH has this folder. RAGBOT_TEST_FORCED_OUTPUTS holds a JSON
list of [needle, text]: when a rendered prompt contains a needle (the first that matches),
the optimum backend's OVModelForCausalLM.generate runs with a logits processor that allows
only the tokens of `text`, then end-of-sequence. Everything after the model's logits is the
product's code: the streamer, incremental detokenisation, stop strings, the loop guard,
citation renumbering, end_signal. Prompts that match nothing are untouched (random words). With RAGBOT_TEST_PROMPT_LOG set,
every rendered prompt is appended to that file (JSON lines), so a test can see what the model
was given.
"""
import importlib.abc
import importlib.machinery
import json
import os
import sys
import threading

FORCED = json.loads(os.environ.get("RAGBOT_TEST_FORCED_OUTPUTS") or "[]")
_PENDING: dict[tuple, list[int]] = {}  # prompt ids -> forced ids (set by generate, read by the model)
_LOCK = threading.Lock()


def _patch_backend(cls):
    original = cls.generate

    def generate(self, prompt, options, run):
        log_path = os.environ.get("RAGBOT_TEST_PROMPT_LOG")
        if log_path:
            with _LOCK, open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(prompt) + "\n")
        text = next((t for needle, t in FORCED if needle in prompt), None)
        if text is not None:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            with _LOCK:
                _PENDING[tuple(self.encode(prompt))] = list(ids) + [self.tokenizer.eos_token_id]
        return original(self, prompt, options, run)

    cls.generate = generate


def _patch_model(cls):
    original = cls.generate

    def generate(self, *args, **kwargs):
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        input_ids = kwargs.get("input_ids")
        key = tuple(input_ids[0].tolist()) if input_ids is not None else None
        with _LOCK:
            forced = _PENDING.pop(key, None)
        if forced is None:
            return original(self, *args, **kwargs)
        start = input_ids.shape[1]

        class Force(LogitsProcessor):
            def __call__(self, ids, scores):
                step = min(ids.shape[1] - start, len(forced) - 1)
                out = torch.full_like(scores, float("-inf"))
                out[:, forced[step]] = 0.0
                return out

        processors = kwargs.pop("logits_processor", None) or LogitsProcessorList()
        processors.append(Force())
        return original(self, *args, logits_processor=processors, **kwargs)

    cls.generate = generate


TARGETS = {"ragbot.backends.optimum": lambda m: _patch_backend(m.OptimumBackend),
           "optimum.intel.openvino.modeling_decoder": lambda m: _patch_model(m.OVModelForCausalLM)}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in TARGETS:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            TARGETS[name](module)

        spec.loader.exec_module = exec_and_patch
        return spec


sys.meta_path.insert(0, _PatchOnImport())
