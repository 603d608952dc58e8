"""FIGURE_CHECK (answering/figures.py): an answer whose first sentence states a figure that
nothing the model was given holds becomes the refusal, in-band, and the model stops; any
other answer reaches the client unchanged."""
from __future__ import annotations

import dataclasses

from ragbot.answering.chain import AnswerChain
from ragbot.answering.citations import figures
from ragbot.answering.figures import FigureCheck, first_sentence_end
from ragbot.answering.prompt import REFUSAL
from ragbot.answering.request import ChatRequest
from ragbot.run import RunContext

from probes.backend_doubles.forced_output import ForcedOutputBackend

RIVER = "How long is the Silverrun river?"  # probes/knowledge.py: "... for 840 kilometres ..."


def ask(service, text: str, question: str = RIVER, check: bool = True, **request):
    """The chain over the session's real tiny model, its output forced to `text` (the product's
    streamer, detokenisation and cancellation run unchanged); returns the chunks, the wire
    end_signal and how many tokens the forced answer has (its end-of-sequence included)."""
    settings = dataclasses.replace(service.settings, figure_check=check, attribute_citations=True)
    backend = ForcedOutputBackend(service.backend, [(question, text)])
    *chunks, end = list(AnswerChain(service.holder, backend, settings)
                        .stream(ChatRequest(question, **request), RunContext.new()))
    forced = len(backend.tokenizer(text, add_special_tokens=False)["input_ids"]) + 1
    return chunks, end.to_wire(), forced


def test_figures_are_numbers_and_number_words_not_codes():
    assert figures("Around 40,000 visitors, version 2.0, E4 and the H5, thirty days; 1.7 l.") == {
        "40000", "2.0", "30", "1.7"}
    assert figures("It opens at 9:00.") == {"9", "00"}


def test_the_first_sentence_ends_at_its_stop_not_inside_a_number():
    assert first_sentence_end("It is 2.0 now") is None
    assert first_sentence_end("  It is 2.0. More") == len("  It is 2.0.")
    assert first_sentence_end("A list:\n- one") == len("A list:\n")
    assert first_sentence_end("It was published in 2004. More") == len("It was published in 2004.")
    assert first_sentence_end("1. Fill it. 2. Boil it.") == len("1. Fill it.")


def test_the_first_sentence_is_held_until_it_ends_then_sent_whole_or_refused():
    check = FigureCheck(["The river flows for 840 kilometres."])
    assert [check.feed(p) for p in ("It flows", " for 840", " kilometres [1].", " It freezes", " in 1912.")] == [
        "", "", "", "It flows for 840 kilometres [1]. It freezes", " in 1912."]  # "." ends it before a space
    assert check.withheld == () and check.flush() == ""  # later sentences are not checked
    check = FigureCheck(["The river flows for 840 kilometres."])
    assert [check.feed(p) for p in ("It is", " 910 km [1].", " More.", " Again.")] == ["", "", REFUSAL, ""]
    assert check.withheld == ("910",)
    unfinished = FigureCheck(["nothing here"])
    assert unfinished.feed("It is 12 km") == "" and unfinished.flush() == REFUSAL
    listed = FigureCheck(["Fill the kettle."])
    assert listed.feed("1. Fill the kettle.\n") == "1. Fill the kettle.\n" and listed.withheld == ()
    spelled = FigureCheck(["opens at seven in the morning"])
    assert spelled.feed("It opens at 7.") + spelled.flush() == "It opens at 7."


def test_an_invented_figure_becomes_the_refusal_in_band_and_the_model_stops(service):
    chunks, wire, forced = ask(service, "The Silverrun is 910 kilometres long [1]. It freezes every winter [1].")
    assert chunks == [REFUSAL] and wire["answer"] == REFUSAL
    assert wire["withheld_figures"] == ["910"] and wire["finish_reason"] == "stop"
    assert 0 < wire["usage"]["completion_tokens"] < forced  # the model was stopped, not run to its end
    assert not any(s["cited"] for s in wire["sources"])
    assert "attributed_citations" not in wire and "unsupported_citations" not in wire


def test_a_figure_the_passages_or_the_conversation_hold_goes_out_unchanged(service):
    text = "The Silverrun flows for 840 kilometres [1]. It freezes solid every winter."
    chunks, wire, forced = ask(service, text)
    assert "".join(chunks) == wire["answer"] == text and "withheld_figures" not in wire
    assert chunks[0].startswith("The Silverrun flows for 840 kilometres [1].")  # the first sentence whole
    assert len(chunks) > 2 and wire["usage"]["completion_tokens"] == forced  # then token by token
    history = (("user", "Is the Silverrun 910 km long?"), ("assistant", "The documents do not say."))
    chunks, wire, _ = ask(service, "You asked about 910 km.", history=history)
    assert wire["answer"] == "You asked about 910 km." and "withheld_figures" not in wire


def test_off_the_answer_streams_as_the_model_says_it(service):
    chunks, wire, _ = ask(service, "The Silverrun is 910 kilometres long [1].", check=False)
    assert wire["answer"] == "The Silverrun is 910 kilometres long [1]." and "withheld_figures" not in wire
    assert wire["unsupported_citations"] == [1]
