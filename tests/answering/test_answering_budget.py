import pytest
from langchain_core.documents import Document
from ragbot.answering.budget import fit_prompt
from ragbot.answering.prompt import render
from ragbot.errors import InvalidRequestError
from ragbot.knowledge.index import Hit

HITS = [Hit(Document(f"passage number {i} " + "filler words " * 30, metadata={"source": f"d{i}"}), 1 - i / 10)
        for i in range(4)]
HISTORY = [("user", "old question " * 20), ("assistant", "old answer " * 20), ("user", "recent"), ("assistant", "ok")]


def fit(llm, window, max_new=64, history=HISTORY, question="What now?"):
    return fit_prompt(question, history, HITS, max_new, window,
                      render=lambda m: render(m, "zephyr", llm.tokenizer), count_tokens=llm.count_tokens)


def test_everything_fits_in_a_large_window(llm):
    fitted = fit(llm, 4096)
    assert len(fitted.hits) == 4 and fitted.max_new_tokens == 64 and "old question" in fitted.prompt


def test_old_history_goes_first_then_low_ranked_passages(llm):
    full = llm.count_tokens(fit(llm, 100_000).prompt)
    fitted = fit(llm, full + 64 - 50)  # 50 tokens too many
    assert "old question" not in fitted.prompt and "recent" in fitted.prompt and len(fitted.hits) == 4
    assert llm.count_tokens(fitted.prompt) + fitted.max_new_tokens <= full + 14
    two_hits = fit_prompt("What now?", [], HITS[:2], 64, 100_000,
                          render=lambda m: render(m, "zephyr", llm.tokenizer), count_tokens=llm.count_tokens)
    window = llm.count_tokens(two_hits.prompt) + 64 + 5
    tight = fit(llm, window)
    assert [h.doc.metadata["source"] for h in tight.hits] == ["d0", "d1"] and "recent" not in tight.prompt
    assert llm.count_tokens(tight.prompt) + tight.max_new_tokens <= window


def test_answer_budget_is_shortened_to_the_room_left(llm):
    fitted = fit(llm, 2048, max_new=5000)
    assert llm.count_tokens(fitted.prompt) + fitted.max_new_tokens == 2048


def test_a_question_that_cannot_fit_is_invalid(llm):
    with pytest.raises(InvalidRequestError, match="too long.*context window is 300"):
        fit(llm, 300, question="word " * 400)
