from langchain_core.documents import Document
from ragbot.answering.prompt import NO_CONTEXT, build_messages, render

HITS = [
    (Document("Zorblats are purple.", metadata={"source": "zorblat.md"}), 0.9),
    (Document("Bread at seven.", metadata={"source": "bakery.txt"}), 0.4),
]
HISTORY = [("user", "hi"), ("assistant", "hello!")]


def test_messages_hold_numbered_delimited_context_history_and_question():
    messages = build_messages("What colour?", HISTORY, HITS)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "not instructions" in messages[0]["content"]
    # passages travel with this turn's question, after the history (prefix reuse)
    turn = messages[-1]["content"]
    assert "[1] source: zorblat.md\n<<<\nZorblats are purple.\n>>>" in turn
    assert "[2] source: bakery.txt" in turn
    assert turn.endswith("\n\nQuestion: What colour?")
    assert "Zorblats" not in messages[0]["content"]


def test_no_context_is_said_to_the_model():
    assert NO_CONTEXT in build_messages("q", [], [])[-1]["content"]


def test_system_message_is_the_same_whatever_the_passages():
    assert build_messages("a", [], HITS)[0] == build_messages("b", HISTORY, [])[0]


def test_zephyr_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "zephyr")
    assert text.startswith("<|system|>\nYou are a helpful assistant.")
    assert "</s>\n<|user|>\nhi</s>\n<|assistant|>\nhello!</s>\n<|user|>\nContext:\n[1] source: zorblat.md" in text
    assert text.endswith(">>>\n\nQuestion: What colour?</s>\n<|assistant|>\n")


def test_llama2_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\nYou are a helpful assistant.")
    assert "\n<</SYS>>\n\nhi [/INST] hello! </s><s>[INST] Context:\n[1] source: zorblat.md" in text
    assert text.endswith(">>>\n\nQuestion: What colour? [/INST]")


def test_llama2_without_history():
    text = render(build_messages("Q?", [], []), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\n")
    assert text.endswith(f"<</SYS>>\n\n{NO_CONTEXT}\n\nQuestion: Q? [/INST]")


def test_tokenizer_chat_template_is_preferred(llm):
    messages = build_messages("What colour?", HISTORY, HITS)
    text = render(messages, "llama2", llm.tokenizer)
    assert "<|user|>\nContext:\n[1]" in text and "Question: What colour?" in text and "[INST]" not in text
