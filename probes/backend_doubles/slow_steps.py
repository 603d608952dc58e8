"""slow-steps: the optimum backend with every decoding step RAGBOT_TEST_STEP_DELAY_S (default
0.02) longer.

The tiny random model decodes a token in about a millisecond, faster than retrieval and
prefill, so a buffered server and a streaming one would look alike; a fixed delay per step
(a logits processor that sleeps, inside transformers' generation loop) makes the difference
measurable, and paces a benchmark at a served model's tok/s, while the real path runs unchanged.
"""
from __future__ import annotations

import os

from ragbot.backends.contract import Backend
from ragbot.backends.optimum import OptimumBackend, load_optimum
from ragbot.settings import Settings

from .model_hooks import ModelWithProcessors
from .prompt_log import with_prompt_log


def load_slow_steps(settings: Settings) -> Backend:
    seconds = float(os.environ.get("RAGBOT_TEST_STEP_DELAY_S") or "0.02")
    real = load_optimum(settings)

    def processors(input_ids) -> list:
        from .logits import SleepEachStep

        return [SleepEachStep(seconds)]

    model = ModelWithProcessors(real.model, processors)
    return with_prompt_log(OptimumBackend(model, real.tokenizer, real.stop_strings, real.seed))
