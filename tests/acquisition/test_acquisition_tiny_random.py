import pytest
import json

from probes.models import minilm_dir, tiny_random_dir

pytestmark = pytest.mark.model


def test_chat_template_builds_a_zephyr_prompt():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_random_dir())
    prompt = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}],
        tokenize=False, add_generation_prompt=True,
    )
    assert prompt == "<|system|>\nBe brief.</s>\n<|user|>\nHi?</s>\n<|assistant|>\n"
    for token in ("<s>", "</s>", "<unk>", "<pad>"):
        assert token in (tokenizer.bos_token, tokenizer.eos_token,
                         tokenizer.unk_token, tokenizer.pad_token)


def test_tokenizer_config_is_readable_by_transformers_4_too():
    config = json.loads((tiny_random_dir() / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"


def test_model_is_small_and_stateful():
    import openvino as ov

    folder = tiny_random_dir()
    assert (folder / "openvino_model.bin").stat().st_size < 2_000_000
    assert ov.Core().read_model(folder / "openvino_model.xml").get_sinks()
    assert json.loads((folder / "config.json").read_text())["max_position_embeddings"] == 2048


def test_openvino_genai_can_use_the_folder():
    import openvino_genai

    pipe = openvino_genai.LLMPipeline(str(tiny_random_dir()), "CPU")
    config = openvino_genai.GenerationConfig(max_new_tokens=3, min_new_tokens=3)
    assert isinstance(pipe.generate("hello", config), str)


def test_tokenizer_training_is_deterministic():
    from modeltools.tiny_random import train_tokenizer

    assert train_tokenizer().get_vocab() == train_tokenizer().get_vocab()


def test_minilm_dir_embeds_384_dims():
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir()), backend="openvino", device="cpu")
    assert model.encode(["hello"]).shape == (1, 384)


def test_embedding_weights_are_stored_in_int8_and_embed_as_the_fp32_weights_do():
    # download_embedding_model.py's default: NNCF stores the weights in INT8 (a quarter of the
    # file, less memory served); the vectors stay those of the FP32 weights (--fp32_weights,
    # as the INT8 test folder is written)
    import numpy as np
    from ragbot.ir_record import compression_mode
    from ragbot.knowledge.embeddings import load_embeddings

    from probes.models import minilm_int8_dir
    from tests.knowledge.index.test_ov_encoder import eval_chunks

    fp32 = minilm_int8_dir()
    ir = "openvino/openvino_model"
    assert compression_mode(minilm_dir() / f"{ir}.xml") == "int8_asym"
    assert compression_mode(fp32 / f"{ir}.xml") is None
    assert (minilm_dir() / f"{ir}.bin").stat().st_size < 0.3 * (fp32 / f"{ir}.bin").stat().st_size
    texts = eval_chunks()[:40] + ["When does the bakery open?"]
    int8w, full = load_embeddings(minilm_dir(), "all-MiniLM-L6-v2"), load_embeddings(fp32, "all-MiniLM-L6-v2")
    assert (int8w.weights, full.weights) == ("int8_asym", None)
    cosine = (np.array(int8w.embed_documents(texts)) * np.array(full.embed_documents(texts))).sum(axis=1)
    assert cosine.min() >= 0.995, cosine.min()


def test_the_fully_int8_ir_is_calibrated_from_fp32_weights_only():
    # calibrating on INT8-stored weights gives vectors far from the model's: refused, with the
    # command that writes both IRs from the source weights
    from modeltools.embedding_int8 import quantize_embedding_model
    from ragbot.errors import ConfigError

    with pytest.raises(ConfigError, match="--int8"):
        quantize_embedding_model(minilm_dir())
