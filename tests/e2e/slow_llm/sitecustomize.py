"""Test-only: make every forward pass of the OpenVINO LLM take a little longer.

The tiny random model decodes a token in about a millisecond, faster than retrieval and
prefill, so a buffered server and a streaming one would look alike. A fixed delay per
decoding step makes the difference measurable while the real code path runs unchanged.
Loaded by putting this folder on PYTHONPATH of the host process.
"""
import functools
import os
import time

DELAY_S = float(os.environ.get("TEST_LLM_STEP_DELAY_S", "0.02"))


def _patch():
    from optimum.intel import OVModelForCausalLM

    forward = OVModelForCausalLM.forward

    @functools.wraps(forward)  # generate() inspects forward's signature
    def slow_forward(self, *args, **kwargs):
        time.sleep(DELAY_S)
        return forward(self, *args, **kwargs)

    OVModelForCausalLM.forward = slow_forward


_patch()
