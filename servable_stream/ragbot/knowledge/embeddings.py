"""The embedding model as LangChain Embeddings.

Served by the OpenVINO runtime alone (ov_encoder.py: no torch in the process) from the
OpenVINO folder `download_embedding_model.py` writes; a folder without the IR (a plain
sentence-transformers folder) falls back to sentence-transformers, which exports on the fly
and imports torch. EMBEDDING_PRECISION=int8 serves the INT8-quantised IR of the same folder.

Vectors are L2-normalised (inner product == cosine) and returned in input order. One OpenVINO
infer request serves the model, so calls are serialised per batch: a background re-index
never blocks a query for longer than one batch. Documents are batched by length (less
padding), then put back in order.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ..errors import ModelMissingError
from .ov_encoder import OpenVINOEncoder, ir_path

log = logging.getLogger(__name__)

BATCH_SIZE = 32


class OpenVINOEmbeddings(Embeddings):
    def __init__(self, encoder: Any):
        self._encoder = encoder  # encode(texts) -> (n, dim) array; dimension
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self._encoder.dimension)

    @property
    def weights(self) -> str | None:
        """How the IR's weights are compressed ("int8_asym"), None for FP32 weights."""
        return getattr(self._encoder, "weights", None)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        order = np.argsort([-len(t) for t in texts], kind="stable")
        vectors: list[Any] = [None] * len(texts)
        for start in range(0, len(texts), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            for row, vector in zip(rows, self._encode([texts[i] for i in rows])):
                vectors[row] = vector
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def release_memory(self) -> None:
        """Give back what the document batches' inference held (measured with mpnet: 83
        chunks in batches of 32 left 390 MB of activations; release_memory gave back 286 MB).
        The next query allocates what one short text needs."""
        release = getattr(self._encoder, "release_memory", None)
        if release is not None:
            with self._lock:
                release()

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            array = self._encoder.encode(texts, batch_size=BATCH_SIZE)
        return array.tolist()


class SentenceTransformersEncoder:
    """The fallback for a folder without an OpenVINO IR (imports torch)."""

    def __init__(self, model: Any):
        self._model = model
        self.dimension = int(model.get_sentence_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = BATCH_SIZE):
        return self._model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                  show_progress_bar=False)


def load_embeddings(model_dir: Path, model_name: str, precision: str = "fp32") -> OpenVINOEmbeddings:
    folder = Path(model_dir)
    if not folder.is_dir():
        raise ModelMissingError(
            f"embedding model folder {model_dir} not found; create it with "
            f"`python download_embedding_model.py --model {model_name}`"
        )
    started = time.monotonic()
    if ir_path(folder, precision).is_file():
        encoder: Any = OpenVINOEncoder(folder, precision)
        how = f"OpenVINO runtime, {precision}" + (f", {encoder.weights} weights" if encoder.weights else "")
    elif precision != "fp32":
        raise ModelMissingError(
            f"EMBEDDING_PRECISION={precision}: {ir_path(folder, precision)} not found; create it with "
            f"`python download_embedding_model.py --model {model_name} --int8`"
        )
    else:
        log.warning("%s has no %s: serving it through sentence-transformers (imports torch); re-create "
                    "it with `python download_embedding_model.py --model %s`", folder,
                    ir_path(folder, "fp32").relative_to(folder), model_name)
        from sentence_transformers import SentenceTransformer  # ~5 s import: keep it lazy

        encoder = SentenceTransformersEncoder(SentenceTransformer(str(folder), backend="openvino", device="cpu"))
        how = "sentence-transformers"
    log.info("embedding model %s loaded in %.1f s (%s)", model_dir, time.monotonic() - started, how)
    return OpenVINOEmbeddings(encoder)
