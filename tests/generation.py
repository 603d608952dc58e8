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


def cancel_after_first_chunk(backend, prompt, max_new_tokens: int = 1500):
    """Start a long forced-length answer, cancel it once its first chunk arrived and drain it:
    (seconds from cancel to the stream's end, its stats)."""
    import time

    from ragbot.run import GenerationStats

    cancel, stats = threading.Event(), GenerationStats()
    stream = generate(backend, prompt, max_new_tokens=max_new_tokens, ignore_eos=True,
                      cancel_event=cancel, stats=stats)
    next(stream)
    cancel.set()
    cancelled_at = time.monotonic()
    list(stream)
    return time.monotonic() - cancelled_at, stats
