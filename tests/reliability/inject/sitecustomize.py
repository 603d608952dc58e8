"""Test-only fault injection, loaded by the host because this folder is on its PYTHONPATH.

No production hook: when an LLM backend module is imported, its `generate` is wrapped:
- a prompt containing FAULT_MARKER fails after FAULT_AFTER_CHUNKS text chunks with a
  RuntimeError, as a model crashing mid-answer would;
- a prompt containing SLOW_MARKER is streamed with SLOW_SECONDS between chunks (a slow
  model, so streams stay in flight long enough to cancel or shut down);
- with RAGBOT_TEST_PROMPT_LOG set, every prompt is appended to that file (JSON lines).
Other prompts are untouched.
"""
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time

TARGETS = {"ragbot.backends.optimum": "OptimumBackend", "ragbot.backends.genai": "GenaiBackend"}
FAULT_MARKER = "INJECT-FAULT"
FAULT_AFTER_CHUNKS = 1
SLOW_MARKER = "SLOW-TOKENS"
SLOW_SECONDS = 0.02


def _patch(cls):
    original = cls.generate

    def generate(self, input, options, run):
        chunks = original(self, input, options, run)
        log_path = os.environ.get("RAGBOT_TEST_PROMPT_LOG")
        if log_path:
            with open(log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(str(input)) + "\n")
        if SLOW_MARKER in str(input):
            try:
                for chunk in chunks:
                    time.sleep(SLOW_SECONDS)
                    yield chunk
            finally:
                chunks.close()
            return
        if FAULT_MARKER not in str(input):
            yield from chunks
            return
        try:
            for i, chunk in enumerate(chunks):
                if i >= FAULT_AFTER_CHUNKS:
                    raise RuntimeError("injected fault: the model failed mid-answer")
                yield chunk
            raise RuntimeError("injected fault: the model failed at the end")
        finally:
            chunks.close()

    cls.generate = generate


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
            _patch(getattr(module, TARGETS[name]))

        spec.loader.exec_module = exec_and_patch
        return spec


sys.meta_path.insert(0, _PatchOnImport())
