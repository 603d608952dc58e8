"""Bytes a decode step must stream from memory, read off the OpenVINO IR.

Every Constant is read once per token except those feeding a Gather's data input (the token
embedding table: one row per token). Plus the KV cache read at the given context length.
bandwidth utilisation = tok/s * bytes_per_token / measured read bandwidth.
"""
from __future__ import annotations

from pathlib import Path

KV_BYTES_PER_ELEM = {"u8": 1, "f16": 2, "bf16": 2, "f32": 4}


def streamed_weight_bytes(model_dir: str | Path) -> dict:
    import openvino as ov

    model = ov.Core().read_model(Path(model_dir) / "openvino_model.xml")
    total, gathered = 0, set()
    for op in model.get_ops():
        if op.get_type_name() == "Gather":
            stack = [op.input_value(0).get_node()]
            while stack:
                node = stack.pop()
                if node.get_friendly_name() in gathered:
                    continue
                gathered.add(node.get_friendly_name())
                stack += [node.input_value(i).get_node() for i in range(node.get_input_size())]
    const_bytes = gathered_bytes = 0
    for op in model.get_ops():
        if op.get_type_name() == "Constant":
            size = op.get_byte_size()
            const_bytes += size
            if op.get_friendly_name() in gathered:
                gathered_bytes += size
    total = const_bytes - gathered_bytes
    return {"constant_bytes": const_bytes, "embedding_bytes": gathered_bytes, "streamed_bytes": total}


def kv_bytes_per_token(config: dict, context: int, precision: str = "u8") -> int:
    """K and V of every layer for `context` positions (GQA: kv heads only)."""
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    per_pos = 2 * config["num_hidden_layers"] * config["num_key_value_heads"] * head_dim
    return per_pos * context * KV_BYTES_PER_ELEM[precision]


if __name__ == "__main__":
    from .common import child_args, emit

    emit({name: streamed_weight_bytes(d) for name, d in child_args()["models"].items()})
