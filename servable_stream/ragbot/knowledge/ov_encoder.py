"""A sentence-transformers OpenVINO folder served by the OpenVINO runtime alone (no torch).

The folder `download_embedding_model.py` writes (sentence-transformers' `save_pretrained` with
the OpenVINO backend) holds everything needed: openvino/openvino_model.xml (the transformer,
dynamic batch and length), tokenizer.json (run by the Rust `tokenizers` library, as
sentence-transformers' fast tokenizer does), the maximum sequence length and
1_Pooling/config.json. Encoding = tokenize (truncate at the maximum length, pad to the
longest in the batch) → infer → pool over the attention mask → L2-normalise; texts are
batched by length (less padding) and the vectors returned in input order. Tests hold the
vectors equal to sentence-transformers' (cosine ≥ 0.999).

`precision="int8"` loads the INT8-quantised IR (openvino/openvino_model_int8.xml) that
`download_embedding_model.py --int8` writes beside the FP32 one.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelMissingError
from ..ir_record import compression_mode
from ..mapped_weights import log_released, releasing

log = logging.getLogger(__name__)

IR_FILES = {"fp32": "openvino/openvino_model.xml", "int8": "openvino/openvino_model_int8.xml"}
POOLING_MODES = ("mean", "cls")


def ir_path(model_dir: Path, precision: str) -> Path:
    return Path(model_dir) / IR_FILES[precision]


def max_seq_length(model_dir: Path) -> int:
    """sentence-transformers' rule: sentence_bert_config's max_seq_length, else the tokenizer's
    model_max_length bounded by the model's positions."""
    folder = Path(model_dir)
    st_config = _json(folder / "sentence_bert_config.json")
    if st_config.get("max_seq_length"):
        return int(st_config["max_seq_length"])
    limits = [_json(folder / "tokenizer_config.json").get("model_max_length"),
              _json(folder / "config.json").get("max_position_embeddings")]
    limits = [int(v) for v in limits if isinstance(v, (int, float)) and 0 < v < 1_000_000]
    return min(limits) if limits else 512


def pooling_mode(model_dir: Path) -> str:
    config = _json(Path(model_dir) / "1_Pooling" / "config.json")
    mode = config.get("pooling_mode")
    if mode is None:  # the older format: one boolean per mode
        mode = next((m for m in POOLING_MODES if config.get(f"pooling_mode_{m}_token" if m == "cls"
                                                            else f"pooling_mode_{m}_tokens")), "mean")
    if mode not in POOLING_MODES:
        raise ConfigError(f"{model_dir}: pooling mode {mode!r} is not supported (only {', '.join(POOLING_MODES)})")
    return mode


class OpenVINOEncoder:
    """encode(texts) -> float32 array (n, dim), L2-normalised; not thread-safe (one infer request)."""

    def __init__(self, model_dir: Path, precision: str = "fp32", device: str = "CPU",
                 properties: dict | None = None):
        import openvino as ov
        from tokenizers import Tokenizer

        folder = Path(model_dir)
        path = ir_path(folder, precision)
        if not path.is_file():
            raise ModelMissingError(f"{path} not found")
        self.precision = precision
        # "int8_asym" for an IR whose weights NNCF compressed (acquisition/embedding_weights.py):
        # its vectors differ slightly from the FP32 weights', so the stored index is keyed by it
        self.weights = compression_mode(path)
        self.max_length = max_seq_length(folder)
        self.pooling = pooling_mode(folder)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(self.max_length)
        pad_id = self._tokenizer.token_to_id(_json(folder / "tokenizer_config.json").get("pad_token") or "[PAD]")
        self._pad_id = pad_id or 0
        model = ov.Core().read_model(str(path))
        self._inputs = {i.get_any_name() for i in model.inputs}
        weights = path.with_suffix(".bin")
        # the plugin converts and repacks the weights (compile, first inference) without the
        # GIL: the file's pages it has read are given back meanwhile, not all at the end
        with releasing([weights]) as released:
            self._compiled = ov.Core().compile_model(model, device, properties or {"PERFORMANCE_HINT": "LATENCY"})
            del model
            self._request = self._compiled.create_infer_request()
            self.dimension = int(self._compiled.outputs[0].get_partial_shape()[-1].get_length())
            self.encode(["warm-up"])
        log_released(f"embeddings {folder.name}", released[weights])

    def release_memory(self) -> None:
        """OpenVINO frees the infer request's intermediate buffers (sized for the largest
        batch seen); the next inference allocates them again for its own shape."""
        self._compiled.release_memory()

    def tokenize(self, texts: list[str]) -> list:
        return self._tokenizer.encode_batch(list(texts))

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenize(texts)
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")  # longest first
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            out[rows] = self._encode_batch([encodings[i] for i in rows])
        return out

    def feeds(self, encodings) -> dict[str, np.ndarray]:
        """The model's inputs for a batch of encodings, padded to the longest."""
        length = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), length), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), length), dtype=np.int64)
        types = np.zeros((len(encodings), length), dtype=np.int64)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n], mask[row, :n], types[row, :n] = e.ids, 1, e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        return {k: v for k, v in feeds.items() if k in self._inputs}

    def _encode_batch(self, encodings) -> np.ndarray:
        feeds = self.feeds(encodings)
        mask = feeds["attention_mask"]
        hidden = self._request.infer(feeds)[0]
        hidden = np.asarray(hidden, dtype=np.float32)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
