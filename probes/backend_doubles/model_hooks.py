"""The optimum model with logits processors added to its generate(): the seam where a double
changes what the model computes, while OptimumBackend, transformers' decoding loop and
everything after the logits stay the product's."""
from __future__ import annotations

from typing import Any, Callable

Processors = Callable[[Any], list]  # the prompt's input_ids -> logits processors for this generation


class ModelWithProcessors:
    """Stands where OVModelForCausalLM stands in OptimumBackend; all but generate() is the model's."""

    def __init__(self, model: Any, processors: Processors):
        self._model = model
        self._processors = processors

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        from transformers import LogitsProcessorList

        extra = self._processors(kwargs["input_ids"])
        if extra:
            processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
            processors.extend(extra)
            kwargs["logits_processor"] = processors
        return self._model.generate(*args, **kwargs)
