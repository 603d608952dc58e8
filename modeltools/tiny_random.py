"""A tiny, randomly initialised Llama chat model for tests (~1 MB, built offline).

Same folder layout as a hub export (stateful OpenVINO IR, HF tokenizer with a
Zephyr chat template, openvino_tokenizer/detokenizer), so every code path that
loads a real preset can be exercised without the hub. Its output is gibberish.
"""
from __future__ import annotations

from pathlib import Path

SEED = 0
VOCAB_SIZE = 1000
CORPUS = Path(__file__).with_name("corpus.txt")
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "<|system|>", "<|user|>", "<|assistant|>"]

# Zephyr / TinyLlama-chat style: <|role|>\ncontent</s>\n ... <|assistant|>\n
ZEPHYR_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def train_tokenizer(lines=None, vocab_size: int = VOCAB_SIZE):
    """Byte-level BPE trained on `lines` (default: the shipped corpus), as a
    PreTrainedTokenizerFast with the Zephyr chat template. The benchmarks train their
    TinyLlama-sized 32k vocabulary with it too."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    if lines is None:
        lines = CORPUS.read_text(encoding="utf-8").splitlines()
    backend.train_from_iterator(lines, trainer)
    bos_id = backend.token_to_id("<s>")
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=2048,
    )
    tokenizer.chat_template = ZEPHYR_CHAT_TEMPLATE
    return tokenizer


TINY_SHAPE = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                  tie_word_embeddings=False)


def llama_config(tokenizer, **shape):
    """A LlamaConfig of `shape` (default: the tiny one) whose special ids are the tokenizer's."""
    from transformers import LlamaConfig

    shape = {"vocab_size": len(tokenizer), **(shape or TINY_SHAPE)}
    return LlamaConfig(**shape, bos_token_id=tokenizer.bos_token_id,
                       eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)


def random_llama(tokenizer):
    """LlamaForCausalLM with random weights from a fixed seed (deterministic)."""
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(SEED)
    return LlamaForCausalLM(llama_config(tokenizer))


def build_tiny_random(dest: Path) -> Path:
    """Build the tiny model and export it to `dest` (written atomically). ~10 s."""
    import shutil

    from optimum.exporters.openvino import main_export
    from ragbot.acquisition.hub import finish_llm_folder, staging_dir

    dest = Path(dest)
    with staging_dir(dest) as tmp:
        pytorch_dir = tmp / "_pytorch"
        tokenizer = train_tokenizer()
        tokenizer.save_pretrained(pytorch_dir)
        random_llama(tokenizer).save_pretrained(pytorch_dir)
        main_export(str(pytorch_dir), output=tmp, task="text-generation-with-past", stateful=True)
        shutil.rmtree(pytorch_dir)
        finish_llm_folder(tmp)
    return dest
