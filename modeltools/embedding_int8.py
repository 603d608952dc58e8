"""INT8 embeddings: NNCF post-training quantization (weights and activations) of the OpenVINO
folder's transformer IR, written beside the FP32 one as openvino/openvino_model_int8.xml.

Calibration text: ~1000-character pieces of the docstrings of the Python standard library's
own modules (offline, plain English prose, and not part of `make eval`'s knowledge base, whose
distractors are `pydoc_data.topics`); the inputs are tokenised exactly as serving does (ragbot/knowledge/ov_encoder.py). The model type
TRANSFORMER keeps the ops NNCF knows to be sensitive (softmax, layer norm) in floating point.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)

CALIBRATION_SAMPLES = 300
CHUNK_CHARS = 1000


def calibration_texts(count: int = CALIBRATION_SAMPLES) -> list[str]:
    import ast
    import sysconfig

    texts = []
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except SyntaxError:
            continue
        docs = [ast.get_docstring(n) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef))]
        body = "\n\n".join(d for d in docs if d and len(d) > 80)
        texts += [body[i : i + CHUNK_CHARS] for i in range(0, len(body), CHUNK_CHARS)]
    step = max(1, len(texts) // count)  # spread over every module, not the first few
    return [t for t in texts[::step] if t.strip()][:count]


def quantize_embedding_model(folder: Path, samples: int = CALIBRATION_SAMPLES) -> Path:
    """Write <folder>/openvino/openvino_model_int8.xml from the FP32 IR; return its path."""
    import nncf
    import openvino as ov
    from ragbot.errors import ConfigError
    from ragbot.ir_record import compression_mode
    from ragbot.knowledge.ov_encoder import IR_FILES, OpenVINOEncoder, ir_path

    if compression_mode(ir_path(folder, "fp32")):
        # calibrating on already compressed weights gives vectors far from the model's (cosine
        # ~0.6 measured on all-mpnet-base-v2): it needs the FP32 weights
        raise ConfigError(f"{ir_path(folder, 'fp32')} has INT8 weights; write both IRs from the "
                          "source weights with `python download_embedding_model.py --model <name> --int8`")
    started = time.monotonic()
    encoder = OpenVINOEncoder(folder, "fp32")  # for its tokenisation only
    texts = calibration_texts(samples)
    feeds = [encoder.feeds([e]) for e in encoder.tokenize(texts)]
    model = ov.Core().read_model(str(ir_path(folder, "fp32")))
    quantized = nncf.quantize(model, nncf.Dataset(feeds), model_type=nncf.ModelType.TRANSFORMER,
                              subset_size=len(feeds))
    out = Path(folder) / IR_FILES["int8"]
    ov.save_model(quantized, str(out))
    log.info("INT8 embeddings %s written in %.0f s (%d calibration chunks)", out,
             time.monotonic() - started, len(feeds))
    return out
