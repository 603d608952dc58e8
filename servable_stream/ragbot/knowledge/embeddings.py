"""sentence-transformers on the OpenVINO backend as LangChain Embeddings.

Vectors are L2-normalised (inner product == cosine) and returned in input order.
One OpenVINO infer request serves the model, so calls are serialised per batch: a
background re-index never blocks a query for longer than one batch.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ..errors import ModelMissingError

log = logging.getLogger(__name__)

BATCH_SIZE = 32


class OpenVINOEmbeddings(Embeddings):
    def __init__(self, model: Any):
        self._model = model
        self._lock = threading.Lock()

    @property
    def dimension(self) -> int:
        return int(self._model.get_sentence_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH_SIZE):
            vectors += self._encode(texts[start : start + BATCH_SIZE])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]

    def _encode(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            array = self._model.encode(
                texts, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False
            )
        return array.tolist()


def load_embeddings(model_dir: Path, model_name: str) -> OpenVINOEmbeddings:
    if not Path(model_dir).is_dir():
        raise ModelMissingError(
            f"embedding model folder {model_dir} not found; create it with "
            f"`python download_embedding_model.py --model {model_name}`"
        )
    from sentence_transformers import SentenceTransformer  # ~5 s import: keep it lazy

    started = time.monotonic()
    model = SentenceTransformer(str(model_dir), backend="openvino", device="cpu")
    log.info("embedding model %s loaded in %.1f s", model_dir, time.monotonic() - started)
    return OpenVINOEmbeddings(model)
