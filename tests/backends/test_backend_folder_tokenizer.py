"""The genai backend's FolderTokenizer (tokenizer.json + chat template, no transformers model
stack) gives the same ids, text and rendered prompts as transformers' AutoTokenizer."""
from __future__ import annotations

import pytest
from ragbot.backends.folder_tokenizer import FolderTokenizer

from probes.models import smollm2_dir, tiny_random_dir

TEXTS = ["Hello world", "<s>héllo ✓ 日本 </s>  two  spaces\n\nnew line", "<|im_start|>user\nHi<|im_end|>",
         "What is a zorblat? It's purple, isn't it?"]
MESSAGES = [{"role": "system", "content": "Answer from the passages."},
            {"role": "user", "content": "When does the bakery open?"},
            {"role": "assistant", "content": "At seven [1]."},
            {"role": "user", "content": "And on Sundays? </s> <|im_end|>"}]


@pytest.fixture(scope="module", params=[("tiny-random", "rust"), ("smollm2", "rust"), ("tiny-random", "engine"),
                                        ("smollm2", "engine")], ids="-".join)
def pair(request):
    """Ours with either codec (the Rust tokenizers library, or the openvino_genai.Tokenizer the
    served engine runs) beside transformers'."""
    from transformers import AutoTokenizer

    model, codec = request.param
    folder = tiny_random_dir() if model == "tiny-random" else smollm2_dir()
    engine = None
    if codec == "engine":
        import openvino_genai

        engine = openvino_genai.Tokenizer(str(folder))
    return FolderTokenizer.load(folder, engine=engine), AutoTokenizer.from_pretrained(str(folder))


def test_ids_and_decoded_text_equal_transformers(pair):
    ours, theirs = pair
    for text in TEXTS:
        for add_special in (True, False):
            ids = theirs(text, add_special_tokens=add_special)["input_ids"]
            assert ours(text, add_special_tokens=add_special)["input_ids"] == ids
            for skip in (True, False):
                assert ours.decode(ids, skip_special_tokens=skip) == theirs.decode(ids, skip_special_tokens=skip)


def test_special_tokens_and_chat_template_equal_transformers(pair):
    ours, theirs = pair
    assert (ours.bos_token, ours.eos_token, ours.eos_token_id, ours.pad_token_id) == \
        (theirs.bos_token, theirs.eos_token, theirs.eos_token_id, theirs.pad_token_id)
    assert set(ours.all_special_tokens) == set(theirs.all_special_tokens)
    assert ours.get_added_vocab() == theirs.get_added_vocab()
    assert ours.convert_tokens_to_ids(theirs.eos_token) == theirs.eos_token_id
    assert ours.chat_template
    assert ours.apply_chat_template(MESSAGES, add_generation_prompt=True) == \
        theirs.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
