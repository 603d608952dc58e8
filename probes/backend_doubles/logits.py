"""The doubles' logits processors (transformers and torch: imported only by optimum doubles)."""
from __future__ import annotations

import time

import torch
from transformers import LogitsProcessor


class ForceTokens(LogitsProcessor):
    """Only the next forced token scores above -inf (the last one again if generation goes on)."""

    def __init__(self, forced: list[int], prompt_length: int):
        self.forced = forced
        self.start = prompt_length

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = min(input_ids.shape[1] - self.start, len(self.forced) - 1)
        out = torch.full_like(scores, float("-inf"))
        out[:, self.forced[step]] = 0.0
        return out


class SleepEachStep(LogitsProcessor):
    """Asked once per decoding step (the first token's included): sleeping here paces the real
    generation loop, so the streamer, the stop check and cancel see a slower model."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        return scores
