"""Prefix reuse: a follow-up's prompt starts with the previous turn's system + history, as
text and as token ids (what KV prefix caching matches); and token_stream's incremental
decoding gives exactly the full decode."""
from __future__ import annotations

from langchain_core.documents import Document
from ragbot.answering.budget import fit_prompt
from ragbot.answering.prompt import render
from ragbot.backends.token_text import IncrementalDecoder, StopCutter, TextAssembler


def hits(*texts):
    return [(Document(t, metadata={"source": f"doc{i}.md"}), 0.5) for i, t in enumerate(texts)]


def test_follow_up_prompts_extend_the_previous_turns_prefix(genai_llm):
    def prompt(question, history, passages):
        return fit_prompt(
            question, history, passages, 48, 2048,
            render=lambda messages: render(messages, "zephyr", genai_llm.tokenizer),
            count_tokens=genai_llm.count_tokens,
        ).prompt

    turn1 = prompt("What is a zorblat?", [], hits("Zorblats are purple."))
    history2 = [("user", "What is a zorblat?"), ("assistant", "A purple fruit [1].")]
    turn2 = prompt("Where does it grow?", history2, hits("Kelvara grows zorblats.", "Bread at seven."))
    history3 = history2 + [("user", "Where does it grow?"), ("assistant", "On Kelvara [1].")]
    turn3 = prompt("When is it harvested?", history3, hits("Every spring."))

    for earlier, later in ((turn1, turn2), (turn2, turn3)):
        shared = earlier[: earlier.rfind("<|user|>")]  # system + history: all but this turn's message
        assert later.startswith(shared)
        assert "Context:" not in shared  # passages are never part of the reused prefix
        ids, later_ids = genai_llm.encode(shared), genai_llm.encode(later)
        assert later_ids[: len(ids)] == ids
    assert len(turn3[: turn3.rfind("<|user|>")]) > len(turn2[: turn2.rfind("<|user|>")])


def test_incremental_decoding_equals_the_full_decode(genai_llm):
    tok = genai_llm.tokenizer
    ids = tok("Zorblats — «purple» fruit, 840 km; naïve café 🍇 ok\n\nthe end")["input_ids"] + list(range(7, 400))
    decoder = IncrementalDecoder(tok)
    pieces = [decoder.push([i]) for i in ids] + [decoder.flush()]
    assert "".join(pieces) == tok.decode(ids, skip_special_tokens=True)


def test_stop_cutter_holds_back_a_possible_stop_and_cuts_across_chunks():
    cutter = StopCutter(["<|user|>", "END"])
    out = [cutter.feed(t) for t in ("Hello <|us", "er|> more")]
    assert out == ["Hello ", ""] and cutter.stop_hit
    cutter = StopCutter(["END"])
    assert cutter.feed("a EN") == "a " and cutter.feed("D!") == "" and cutter.stop_hit
    cutter = StopCutter(["END"])
    assert cutter.feed("EN") == "" and cutter.feed("x") == "ENx" and cutter.flush() == ""


def test_text_assembler_counts_tokens_and_stops(genai_llm):
    tok = genai_llm.tokenizer
    ids = tok("one two three four five")["input_ids"]
    text = TextAssembler(tok, ["three"])
    out = "".join(text.push([i]) for i in ids) + text.finish()
    assert text.stop_hit and "three" not in out and "two" in out
