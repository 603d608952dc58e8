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
