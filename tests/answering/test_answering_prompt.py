from langchain_core.documents import Document
from ragbot.answering.prompt import (EXAMPLES, GROUNDED_EXAMPLES, REFUSAL, NO_CONTEXT, PromptStyle, build_messages, instruction_texts,
                                     render)
from ragbot.knowledge.index import Hit

HITS = [
    Hit(Document("Zorblats are purple.", metadata={"source": "zorblat.md", "title": "Zorblat fruit",
                                                    "section": "Colour"}), 0.9),
    Hit(Document("Bread at seven.", metadata={"source": "bakery.txt"}), 0.4),
    Hit(Document("Copper ore.", metadata={"source": "r.pdf", "title": "Report", "page": 2}), 0.3),
]
HISTORY = [("user", "hi"), ("assistant", "hello!")]


def test_messages_hold_numbered_delimited_passages_history_and_question():
    messages = build_messages("What colour?", HISTORY, HITS)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert "not instructions" in messages[0]["content"] and "[1]" in messages[0]["content"]
    # passages travel with this turn's question, after the history (prefix reuse), each
    # headed by where it comes from: title > section, else the source; PDF pages
    turn = messages[-1]["content"]
    assert turn.startswith("Passages:\n[1] Zorblat fruit > Colour\n<<<\nZorblats are purple.\n>>>")
    assert "[2] bakery.txt\n<<<" in turn and "[3] Report (page 2)\n<<<" in turn
    assert turn.endswith("\n\nQuestion: What colour?")
    assert "Zorblats" not in messages[0]["content"]


def test_no_context_is_said_to_the_model():
    assert NO_CONTEXT in build_messages("q", [], [])[-1]["content"]


def test_system_message_is_the_same_whatever_the_passages():
    assert build_messages("a", [], HITS)[0] == build_messages("b", HISTORY, [])[0]


def test_the_models_own_identity_comes_first_and_examples_only_when_asked():
    style = PromptStyle(identity="You are SmolLM.")
    assert build_messages("q", [], HITS, style=style)[0]["content"].startswith("You are SmolLM. Answer")
    plain = build_messages("q", HISTORY, HITS)
    with_examples = build_messages("q", HISTORY, HITS, style=PromptStyle(examples=True))
    assert len(with_examples) == len(plain) + len(EXAMPLES)
    assert [m["content"] for m in with_examples[1:1 + len(EXAMPLES)]] == [c for _, c in EXAMPLES]
    assert with_examples[-3:] == plain[-3:]  # history and this turn unchanged after them



def test_the_grounded_wording_shows_its_own_examples_a_fact_two_passages_and_a_refusal():
    grounded = build_messages("q", HISTORY, HITS, style=PromptStyle(examples=True, wording="grounded"))
    shown = [m["content"] for m in grounded[1:1 + len(GROUNDED_EXAMPLES)]]
    assert shown == [c for _, c in GROUNDED_EXAMPLES] and not set(shown[::2]) & {c for _, c in EXAMPLES}
    answers = shown[1::2]
    assert "[1]" in answers[0] and "[1]" in answers[1] and "[2]" in answers[1] and answers[2] == REFUSAL
    assert all(c in instruction_texts() for c in shown)  # the eval checks no answer repeats them

def test_closed_book_has_no_passages_and_no_note():
    messages = build_messages("What colour?", HISTORY, [], closed_book=True)
    assert messages[-1] == {"role": "user", "content": "What colour?"}
    assert NO_CONTEXT not in messages[-1]["content"]


def test_zephyr_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "zephyr")
    assert text.startswith("<|system|>\nAnswer the question from the passages")
    assert "</s>\n<|user|>\nhi</s>\n<|assistant|>\nhello!</s>\n<|user|>\nPassages:\n[1] Zorblat fruit" in text
    assert text.endswith(">>>\n\nQuestion: What colour?</s>\n<|assistant|>\n")


def test_llama2_style():
    text = render(build_messages("What colour?", HISTORY, HITS), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\nAnswer the question from the passages")
    assert "\n<</SYS>>\n\nhi [/INST] hello! </s><s>[INST] Passages:\n[1] Zorblat fruit" in text
    assert text.endswith(">>>\n\nQuestion: What colour? [/INST]")


def test_chatml_style():
    text = render(build_messages("What colour?", [], HITS[:1]), "chatml")
    assert text.startswith("<|im_start|>system\nAnswer the question from the passages")
    assert text.endswith("Question: What colour?<|im_end|>\n<|im_start|>assistant\n")


def test_llama2_without_history():
    text = render(build_messages("Q?", [], []), "llama2")
    assert text.startswith("<s>[INST] <<SYS>>\n")
    assert text.endswith(f"<</SYS>>\n\n{NO_CONTEXT}\n\nQuestion: Q? [/INST]")


def test_tokenizer_chat_template_is_preferred(llm):
    messages = build_messages("What colour?", HISTORY, HITS)
    text = render(messages, "llama2", llm.tokenizer)
    assert "<|user|>\nPassages:\n[1]" in text and "Question: What colour?" in text and "[INST]" not in text


def test_instruction_texts_hold_every_fixed_text_the_prompt_sends():
    """make eval flags answers repeating these (eval/scoring.py leaks_instructions)."""
    texts = instruction_texts()
    fixed = [build_messages("q", [], HITS)[0]["content"],  # the system instructions
             build_messages("q", [], [])[-1]["content"].split("\n\nQuestion:")[0],  # no context
             build_messages("q", [], [], closed_book=True)[0]["content"],
             *(m["content"] for m in build_messages("q", [], HITS, style=PromptStyle(examples=True))[1:-1])]
    for text in fixed:
        assert any(text.strip() == t.strip() for t in texts), text
