"""One call to drive a backend in tests: `generate(backend, prompt, max_new_tokens=..., ...)`.

Builds the GenerationOptions and RunContext the contract takes; a test that wants to see
the stats or cancel passes its own `stats` / `cancel_event`."""
from __future__ import annotations

import threading


def generate(backend, prompt, *, max_new_tokens, temperature=None, ignore_eos=False, stop=(),
             cancel_event: threading.Event | None = None, stats=None):
    from ragbot.backends.contract import GenerationOptions
    from ragbot.run import GenerationStats, RunContext

    run = RunContext("test", cancel_event=cancel_event or threading.Event(),
                     stats=stats if stats is not None else GenerationStats())
    options = GenerationOptions(max_new_tokens=max_new_tokens, temperature=temperature,
                                ignore_eos=ignore_eos, stop=tuple(stop))
    return backend.generate(prompt, options, run)
