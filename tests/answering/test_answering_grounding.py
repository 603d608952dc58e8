"""Grounding on the answering path: follow-ups searched with the history, the 'not covered'
answer, citations checked, the loop guard (the real service on the test knowledge base)."""
from __future__ import annotations

import dataclasses
import queue

import pytest

from ragbot.answering.chain import AnswerChain
from ragbot.answering.citations import check_citations
from ragbot.answering.followup import is_follow_up, search_query
from ragbot.answering.prompt import NOT_COVERED
from ragbot.answering.request import ChatRequest
from ragbot.backends.contract import Backend, stream_text
from ragbot.backends.token_text import LoopGuard
from ragbot.run import GenerationStats, RunContext

from probes.backend_doubles.scripted import ScriptedBackend

ZORBLAT_TURN = (("user", "What colour is the zorblat fruit?"), ("assistant", "It is purple."))


def answer(service, request):
    a = service.answer(request)
    text = "".join(a)
    return text, a.end, a.run


def test_a_follow_up_retrieves_the_earlier_turns_document(service):
    text, end, run = answer(service, ChatRequest("Where is it grown?", history=ZORBLAT_TURN, max_new_tokens=4))
    assert end.sources[0].source == "zorblat.md"
    assert run.rewrite_seconds is not None  # searched with the history, and the cost measured


def test_a_self_contained_question_is_searched_as_it_is(service):
    text, end, run = answer(service, ChatRequest("Which river freezes in winter?", history=ZORBLAT_TURN,
                                                 max_new_tokens=4))
    assert end.sources[0].source == "rivers.md" and run.rewrite_seconds is None


def test_follow_up_detection_and_the_joined_query():
    history = (("user", "Tell me about the Marrow Point Lighthouse."), ("assistant", "It is old."))
    assert is_follow_up("When was it decommissioned?", history)
    assert is_follow_up("And the keeper?", history)
    assert not is_follow_up("When was the Gull Rock Lighthouse first lit?", history)
    assert not is_follow_up("When was it decommissioned?", ())
    assert search_query("When was it decommissioned?", history, "join") == (
        "Tell me about the Marrow Point Lighthouse. When was it decommissioned?")
    assert search_query("When was it decommissioned?", history, "off") == "When was it decommissioned?"
    rewritten = search_query("When was it decommissioned?", history, "llm",
                             rewrite=lambda messages: "When was Marrow Point Lighthouse decommissioned?\n")
    assert rewritten == "When was Marrow Point Lighthouse decommissioned?"


def test_nothing_above_the_cut_off_is_answered_without_the_model(service):
    text, end, run = answer(service, ChatRequest("Tell me a story about dragons"))
    assert text == NOT_COVERED and end.sources == () and end.finish_reason == "stop"
    assert run.stats.completion_tokens == 0 and end.to_wire()["answer"] == NOT_COVERED


def test_citations_mark_sources_and_catch_numbers_outside_the_passages(service):
    backend = ScriptedBackend(service.backend.tokenizer, "Purple [1], says [1] and also [7].")
    chain = AnswerChain(service.holder, backend, service.settings)
    *chunks, end = list(chain.stream(ChatRequest("What colour is the zorblat fruit?"), RunContext.new()))
    wire = end.to_wire()
    assert wire["sources"][0]["cited"] is True and all(not s["cited"] for s in wire["sources"][1:])
    assert wire["invalid_citations"] == [7]
    assert check_citations("see [2][2] and [0]", passages=2) == check_citations("[2] [0]", 2)
    assert check_citations("[2] [0]", 2).invalid == (0,)


def test_a_citation_whose_passage_lacks_the_cited_facts_is_flagged(service):
    question = ChatRequest("What colour is the zorblat fruit?")
    for text, unsupported in (("The zorblat is purple and grows on Kelvara [1].", None),
                              ("The zorblat is green and grows on Zanzibar [1].", [1]),
                              ("Zorblats are harvested 12 times a year [1].", [1])):
        chain = AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, text), service.settings)
        *_, end = list(chain.stream(question, RunContext.new()))
        assert end.to_wire().get("unsupported_citations") == unsupported, text


def test_citation_support_reads_the_words_before_each_citation():
    passages = ["Marrow Point Lighthouse\nThe tower is 31 metres tall. It was first lit in 1874.",
                "Gull Rock Lighthouse\nThe tower is twenty-four metres. The beam is green."]
    assert check_citations("Marrow Point is 31 m [1] and Gull Rock is 24 m [2].", passages).unsupported == ()
    assert check_citations("Marrow Point is 24 m [1] and Gull Rock is 31 m [2].", passages).unsupported == (1, 2)
    assert check_citations("Both were lit in 1874 [1][2].", passages).unsupported == ()
    assert check_citations("The Gull Rock beam is green [1].", passages).unsupported == (1,)
    assert check_citations("It has three presets [1].", ["The H3 has 3 presets."]).unsupported == ()
    assert check_citations("The warranty is 1,000 days [1].", ["A warranty of 1000 days."]).unsupported == ()



def test_a_citation_of_the_wrong_passage_is_re_pointed_to_the_one_holding_the_claim():
    from ragbot.answering.citations import CitationRepair

    passages = ["Travel policy > Booking\nFlights must be booked at least 14 days ahead. Trains are second class.",
                "Travel policy\nThis policy applies to every employee who travels for work.",
                "Travel policy > Claims\nClaims are paid within 30 days. Flights over 14 hours fly business."]
    repair = CitationRepair(passages)
    chunks = ["Flights are booked 14 days ahead [", "2]. Claims are paid", " within 30 days [3]", " and [2]"]
    text = "".join(repair.feed(c) for c in chunks) + repair.flush()
    # [2] backs "14": passage 1 holds it (passage 3 too, but ranks lower); [3] was right; the last
    # [2] backs no number or name, so it stays
    assert text == "Flights are booked 14 days ahead [1]. Claims are paid within 30 days [3] and [2]"
    assert repair.repaired == [(2, 1)]
    assert check_citations(text, passages).unsupported == ()

    def repaired(answer):
        r = CitationRepair(passages)
        return r.feed(answer) + r.flush()

    for untouched in ("Book 14 days ahead [1, 2].",  # a list: as written
                      "Book 14 days ahead [3][2].",  # adjacent: [2] backs the same text as [3]
                      "Book 21 days ahead [2].",  # no passage holds 21: left to be flagged
                      "It applies to every employee [2].",  # no number or name to check
                      "Book 14 days ahead [9]."):  # names no passage: an invalid citation
        assert repaired(untouched) == untouched


def test_the_chain_streams_the_re_pointed_citation_and_marks_its_source(service):
    settings = dataclasses.replace(service.settings, top_k=2, min_score=0.0, max_documents=0)
    question = ChatRequest("What colour is the zorblat fruit?")
    ranked = list(AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, "x"), settings)
                  .stream(question, RunContext.new()))[-1]
    zorblat = next(n for n, s in enumerate(ranked.sources, start=1) if s.source == "zorblat.md")
    other = 3 - zorblat
    text = f"The zorblat grows on Kelvara [{other}]."
    chain = AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, text), settings)
    *chunks, end = list(chain.stream(question, RunContext.new()))
    wire = end.to_wire()
    assert "".join(chunks) == wire["answer"] == f"The zorblat grows on Kelvara [{zorblat}]."
    assert wire["sources"][zorblat - 1]["cited"] and not wire["sources"][other - 1]["cited"]
    assert "unsupported_citations" not in wire

def test_the_loop_guard_ends_an_answer_that_repeats_itself():
    guard = LoopGuard()
    assert not guard.push(list(range(10)))
    assert not guard.push([1, 2, 3, 4, 1, 2, 3, 4])  # said twice: not yet a loop
    assert guard.push([1, 2, 3, 4, 1, 2, 3, 4])  # 4 x 4 tokens


@pytest.mark.parametrize("guard_loops, expected", [(True, "stop"), (False, "length")])
def test_stream_text_stops_a_loop_unless_the_length_is_forced(service, guard_loops, expected):
    tokenizer = service.backend.tokenizer
    ids = tokenizer("again and again", add_special_tokens=False)["input_ids"]
    events = queue.SimpleQueue()
    for _ in range(12):
        events.put(("ids", list(ids)))
    events.put(("done", "length"))
    stats = GenerationStats()
    text = "".join(stream_text(events, tokenizer, (), stats, release=lambda: None, guard_loops=guard_loops))
    assert stats.finish_reason == expected
    said = text.count("again and again")
    # guarded: cut once the repetition is a loop (a few times said, not all twelve)
    assert said == 12 if not guard_loops else 2 <= said < 12, (said, text)
    assert (stats.completion_tokens < 12 * len(ids)) is guard_loops


def test_retrieval_settings_reach_the_chain(service):
    dense = dataclasses.replace(service.settings, retrieval_mode="dense", top_k=1)
    chain = AnswerChain(service.holder, service.backend, dense)
    assert (chain.policy.mode, chain.policy.top_k, chain.policy.max_documents) == ("dense", 1, 1)


def test_renumbering_follows_the_order_of_first_citation_across_chunk_borders():
    from ragbot.answering.citations import CitationRenumbering

    renumber = CitationRenumbering(passages=3)
    pieces = ["Purple [", "3]. Grown on Kelvara [1", "]; see [3, 1] and [", "7] or a[", "2"]
    out = "".join(renumber.feed(p) for p in pieces) + renumber.flush()
    assert out == "Purple [1]. Grown on Kelvara [2]; see [1, 2] and [7] or a[2"
    assert renumber.order() == [3, 1, 2]  # cited ones first, then the others by rank
    assert check_citations(out, 3).cited == {1, 2} and check_citations(out, 3).invalid == (7,)
    untouched = CitationRenumbering(passages=2)
    assert untouched.feed("no citations at all") == "no citations at all" and untouched.order() == [1, 2]


def test_a_renumbering_request_gets_cited_sources_first_with_their_rank(service):
    backend = ScriptedBackend(service.backend.tokenizer, "Violet juice [2], purple fruit [1].")
    settings = dataclasses.replace(service.settings, top_k=2, min_score=0.0, max_documents=0)
    chain = AnswerChain(service.holder, backend, settings)
    question = "What colour is the zorblat fruit?"
    *chunks, end = list(chain.stream(ChatRequest(question, renumber_citations=True), RunContext.new()))
    ranked = list(chain.stream(ChatRequest(question), RunContext.new()))[-1]
    assert len(ranked.sources) == 2
    assert "".join(chunks) == "Violet juice [1], purple fruit [2]."
    assert [s.rank for s in end.sources] == [2, 1] and [s.rank for s in ranked.sources] == [1, 2]
    assert [s.source for s in end.sources] == [s.source for s in reversed(ranked.sources)]
    assert all(s.cited for s in end.sources)
    assert end.to_wire()["sources"][0]["rank"] == 2


class LoopingBackend(Backend):
    """The real consume loop over ids that repeat one block: the loop guard's case."""

    name = "looping"

    def generate(self, prompt, options, run):
        ids = self.tokenizer('"Tell me more.", ', add_special_tokens=False)["input_ids"]
        events = queue.SimpleQueue()
        for _ in range(6):
            events.put(("ids", list(ids)))
        events.put(("done", "stop"))
        return stream_text(events, self.tokenizer, (), run.stats, release=lambda: None,
                           guard_loops=options.guard_loops)


@pytest.mark.parametrize("loop_guard", [True, False])
def test_a_request_can_turn_the_loop_guard_off(service, loop_guard):
    chain = AnswerChain(service.holder, LoopingBackend(service.backend.tokenizer), service.settings)
    request = ChatRequest("List follow-ups as JSON", retrieval=False, loop_guard=loop_guard)
    *chunks, end = list(chain.stream(request, RunContext.new()))
    whole = '"Tell me more.", ' * 6
    assert ("".join(chunks) == whole) is not loop_guard
    assert end.sources == ()


@pytest.mark.parametrize("text, attributed", [
    ("The zorblat is a purple fruit from Kelvara.", True),  # cites nothing: the servable does
    ("The zorblat is a purple fruit [1].", False),  # the model cited
    ("The documents do not say.", False),  # a refusal cites nothing
    ("Quantum flux capacitors hum at dawn.", False),  # no passage holds it
])
def test_an_answer_without_citations_gets_the_passage_holding_its_facts(service, text, attributed):
    settings = dataclasses.replace(service.settings, attribute_citations=True)
    chain = AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, text), settings)
    *chunks, end = list(chain.stream(ChatRequest("What colour is the zorblat fruit?"), RunContext.new()))
    wire = end.to_wire()
    zorblat = next(n for n, s in enumerate(wire["sources"], start=1) if s["source"] == "zorblat.md")
    if attributed:
        assert "".join(chunks) == f"{text} [{zorblat}]" == wire["answer"]
        assert wire["attributed_citations"] == [zorblat] and wire["sources"][zorblat - 1]["cited"]
    else:
        assert "".join(chunks) == text and "attributed_citations" not in wire
    off = AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, text), service.settings)
    *chunks, end = list(off.stream(ChatRequest("What colour is the zorblat fruit?"), RunContext.new()))
    assert "".join(chunks) == text  # ATTRIBUTE_CITATIONS off: the text as the model wrote it


def test_an_attributed_citation_is_renumbered_like_the_models_own(service):
    settings = dataclasses.replace(service.settings, attribute_citations=True)
    chain = AnswerChain(service.holder, ScriptedBackend(service.backend.tokenizer, "Zorblats are purple."), settings)
    request = ChatRequest("What colour is the zorblat fruit?", renumber_citations=True)
    *chunks, end = list(chain.stream(request, RunContext.new()))
    wire = end.to_wire()
    assert "".join(chunks) == "Zorblats are purple. [1]" and wire["attributed_citations"] == [1]
    assert wire["sources"][0]["source"] == "zorblat.md" and wire["sources"][0]["cited"]
