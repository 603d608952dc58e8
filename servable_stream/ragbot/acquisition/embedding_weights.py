"""The embedding model's weights stored in INT8 (weights only; activations stay float).

sentence-transformers exports the IR with FP32 weights (all-mpnet-base-v2: 436 MB). NNCF's
data-free weight compression (INT8, asymmetric, per channel) stores them in a quarter of
that. Measured on all-mpnet-base-v2: the served 1.5B stack 83 MB smaller after its answers and
317 MB lower at its loading peak (benchmarks/README.md, "INT8-weight embeddings"), embedding
14% faster, cosine to the FP32-weight vectors ≥ 0.999, and `make eval` retrieval identical
question for question (eval/README.md, the 1.5B section).

Full INT8 (weights and activations, EMBEDDING_PRECISION=int8, embedding_int8.py) calibrates
from the FP32 weights, so it is written before this runs (modeltools/embeddings.py).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ..ir_record import compression_mode

log = logging.getLogger(__name__)

IR = Path("openvino") / "openvino_model.xml"


def compress_embedding_weights(folder: Path) -> Path:
    """Rewrite <folder>/openvino/openvino_model.xml with INT8 weights (no-op when it has them).
    Call it on a staging folder (acquisition/hub.py: staging_dir): .bin and .xml are replaced
    one after the other."""
    import nncf
    import openvino as ov

    xml = Path(folder) / IR
    if compression_mode(xml):
        return xml
    started = time.monotonic()
    before = xml.with_suffix(".bin").stat().st_size
    model = ov.Core().read_model(str(xml))
    compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    staged = xml.with_name("openvino_model.int8w.xml")
    ov.save_model(compressed, str(staged), compress_to_fp16=False)
    del model, compressed
    staged.with_suffix(".bin").replace(xml.with_suffix(".bin"))
    staged.replace(xml)
    log.info("embedding weights stored in INT8: %s, %.0f MB -> %.0f MB in %.0f s", xml,
             before / 1e6, xml.with_suffix(".bin").stat().st_size / 1e6, time.monotonic() - started)
    return xml
