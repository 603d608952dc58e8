"""The wire contract held against the servable's own code, both directions, without a model
or a host: the client's WireRequest reaches ragbot's parser whole, ragbot's AnswerEnd reaches
the client's and the gateway's decoders whole, and docs/design.md names every key. A request
option or an end_signal part added on one side only fails here."""
from __future__ import annotations

import json
import re
from dataclasses import asdict, fields

import pytest

from client.wire import WireRequest, decode_end_info
from gateway.end_signal import SOURCE_FIELDS, parse_end_signal
from gateway.errors import from_grpc_status
from ragbot.answering.end import AnswerEnd, KnowledgeBaseInfo, SourceInfo
from ragbot.answering.request import KEYS, ChatRequest, parse_input
from ragbot.errors import OverloadedError, wire_error
from tests.conftest import REPO

FULL_REQUEST = WireRequest(
    "Und danach? ünïcødé", ({"role": "user", "content": "hi"}, ("assistant", "hello")),
    max_new_tokens=12, temperature=0.5, ignore_eos=True, retrieval=False, loop_guard=False,
    renumber_citations=True, background=True)

FULL_END = AnswerEnd(
    sources=(SourceInfo("https://example.com/guide.html", "Guide", 0.91, "Install it…", page=2,
                        section="Install > Linux", cited=True, rank=2),
             SourceInfo("manual.pdf", "Manual", 0.42, "Descale monthly.", page=3, section="Care",
                        cited=False, rank=1)),
    usage={"prompt_tokens": 7, "completion_tokens": 9},
    finish_reason="error",
    knowledge_base=KnowledgeBaseInfo(documents=3, chunks=0, version=5),  # chunks=0: "note" too
    answer="See the guide [1] and [3].",
    error=wire_error(OverloadedError("server busy; retry later")),
    invalid_citations=(3,), unsupported_citations=(2,), attributed_citations=(1,), withheld_figures=("2004",))
WIRE = FULL_END.to_wire()


def _names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def test_every_request_option_is_one_the_servable_reads_with_the_same_default():
    """Options at their default are left off the wire, so both sides must agree on it."""
    assert _names(WireRequest) == _names(ChatRequest) == set(KEYS)
    assert {f.name: f.default for f in fields(WireRequest)} == {f.name: f.default for f in fields(ChatRequest)}


@pytest.mark.parametrize("prefixed", [False, True], ids=["raw", "length-prefixed"])
def test_a_request_with_every_field_set_reaches_the_servable_whole(prefixed):
    assert all(getattr(FULL_REQUEST, f.name) != f.default for f in fields(WireRequest))
    payload = FULL_REQUEST.encode()
    if prefixed:  # one BYTES element, as tritonclient sends it
        payload = len(payload).to_bytes(4, "little") + payload
    parsed = parse_input(payload, "BYTES", [1], max_bytes=1 << 20)
    for name in _names(ChatRequest):
        assert getattr(parsed, name) == getattr(FULL_REQUEST, name), name
    assert parse_input(WireRequest("q").encode(), "BYTES", [1], max_bytes=1 << 20) == ChatRequest("q")


def test_the_full_end_signal_sends_every_field():
    assert _names(AnswerEnd) <= set(WIRE) and "note" in WIRE
    assert all(_names(SourceInfo) == set(source) for source in WIRE["sources"])
    assert _names(KnowledgeBaseInfo) == set(WIRE["knowledge_base"])


def test_decode_end_info_loses_nothing_the_servable_sends():
    info = decode_end_info(json.dumps(WIRE).encode("utf-8"))
    for name in _names(AnswerEnd):
        sent, got = getattr(FULL_END, name), getattr(info, name)
        if name == "sources":
            assert [s.number for s in got] == list(range(1, len(sent) + 1))
            for sent_source, got_source in zip(sent, got, strict=True):
                for source_field in _names(SourceInfo):
                    assert getattr(got_source, source_field) == getattr(sent_source, source_field), source_field
        elif name == "knowledge_base":
            assert asdict(got) == asdict(sent)
        elif name == "error":
            assert asdict(got) == sent
        else:
            assert got == sent, name
    assert info.note == WIRE["note"]


def test_the_gateway_reads_the_same_sources_usage_and_error():
    end = parse_end_signal(json.dumps(WIRE).encode("utf-8"))
    passed_on = [{k: v for k, v in s.items() if k != "excerpt"} for s in WIRE["sources"]]
    passed_on[1]["supported"] = False  # unsupported_citations (2,)
    assert all(set(s) <= set(SOURCE_FIELDS) for s in passed_on)
    assert end.sources == passed_on
    assert end.excerpts == [s["excerpt"] for s in WIRE["sources"]]
    assert (end.prompt_tokens, end.completion_tokens) == (7, 9) and end.finish_reason == "error"
    expected = from_grpc_status(WIRE["error"]["code"], WIRE["error"]["message"])
    assert type(end.error) is type(expected) and end.error.message == expected.message


def _wire_section() -> str:
    text = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    match = re.search(r"^## Wire contract.*?(?=^## |\Z)", text, re.M | re.S)
    assert match, "docs/design.md has no '## Wire contract' section"
    return match.group(0)


def test_the_design_doc_names_every_key_on_the_wire():
    keys = set(WIRE) | set(WIRE["knowledge_base"]) | set(WIRE["error"]) | _names(WireRequest)
    keys |= {key for source in WIRE["sources"] for key in source}
    section = _wire_section()
    missing = sorted(key for key in keys if f'"{key}"' not in section)
    assert not missing, f"docs/design.md's wire section does not name {missing}"
