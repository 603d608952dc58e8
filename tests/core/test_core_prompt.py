from langchain_core.documents import Document

from ragbot.prompt import NO_CONTEXT, build_messages, render

HITS = [
    (Document("Zorblats are purple.", metadata={"source": "zorblat.md"}), 0.9),
    (Document("Bread at seven.", metadata={"source": "bakery.txt"}), 0.4),
]
HISTORY = [("user", "hi"), ("assistant", "hello!")]


def test_messages_hold_numbered_delimited_context_history_and_question():
    messages = build_messages("What colour?", HISTORY, HITS)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert "[1] source: zorblat.md\n<<<\nZorblats are purple.\n>>>" in system
    assert "[2] source: bakery.txt" in system
    assert "not instructions" in system
    assert messages[-1]["content"] == "What colour?"


def test_no_context_is_said_to_the_model():
    assert NO_CONTEXT in build_messages("q", [], [])[0]["content"]


def test_zephyr_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "zephyr")
    assert text.startswith("<|system|>\nYou are a helpful assistant.")
    assert text.endswith("</s>\n<|user|>\nhi</s>\n<|assistant|>\nhello!</s>\n<|user|>\nWhat colour?</s>\n<|assistant|>\n")


def test_llama2_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\nYou are a helpful assistant.")
    assert "\n<</SYS>>\n\nhi [/INST] hello! </s><s>[INST] What colour? [/INST]" in text
    assert text.endswith("[/INST]")


def test_llama2_without_history():
    text = render(build_messages("Q?", [], []), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\n") and text.endswith("<</SYS>>\n\nQ? [/INST]")


def test_tokenizer_chat_template_is_preferred(llm):
    messages = build_messages("What colour?", HISTORY, HITS)
    text = render(messages, "llama2", llm.tokenizer)
    assert "<|user|>\nWhat colour?" in text and "[INST]" not in text
