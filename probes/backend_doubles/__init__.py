"""Backend doubles: LLM backends that fake one edge of the model and keep the product's code
up to it, chosen in a host like any backend, through the registry (ragbot/backends/registry.py):

    env = rag_env(docs, **backend_env("faulty-optimum"))   # LLM_BACKEND + LLM_BACKEND_PLUGINS

The host runs from the repository, so `probes` is importable there; `plugin.py` registers:

- `faulty-optimum`, `faulty-genai` (faulty.py): the real backend, except that a prompt holding
  FAULT_MARKER fails after its first chunk (RuntimeError, as a model crashing mid-answer) and
  one holding SLOW_MARKER streams with a pause between chunks (in flight long enough to cancel);
- `forced-output` (forced_output.py): the optimum backend whose logits allow only the tokens a
  test names (RAGBOT_TEST_FORCED_OUTPUTS); streamer, detokenisation, stop strings, loop guard,
  citations and end_signal are the product's;
- `slow-steps` (slow_steps.py): the optimum backend with every decoding step
  RAGBOT_TEST_STEP_DELAY_S longer (a bigger model's pace: streaming and buffering differ).

In-process tests of what follows the model use `scripted.ScriptedBackend(tokenizer, text)`: the
contract with a fixed answer (not registered: a test builds it with the text it needs).

Each registered double, with RAGBOT_TEST_PROMPT_LOG set, appends every prompt to that file (prompt_log.py).
Their variables are read once, when the double is loaded. This module imports no ragbot.
"""
from __future__ import annotations

PLUGIN = "probes.backend_doubles.plugin"
FAULT_MARKER = "INJECT-FAULT"
SLOW_MARKER = "SLOW-TOKENS"


def backend_env(name: str) -> dict[str, str]:
    """The host environment that makes the double `name` its LLM backend."""
    return {"LLM_BACKEND": name, "LLM_BACKEND_PLUGINS": PLUGIN}
