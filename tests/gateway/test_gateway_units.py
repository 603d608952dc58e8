"""The gateway's pure parts: settings, the request mapping, end_signal, error mapping (its
public surface: tests/test_public_surface.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.chat_request import decode_body, parse_chat_request
from gateway.end_signal import parse_end_signal
from gateway.errors import (
    BadRequestError,
    GatewayError,
    ModelNotFoundError,
    OverloadedError,
    UnavailableError,
    UpstreamError,
    from_grpc_status,
    status_name_of_stream_message,
)
from gateway.settings import GatewaySettings
from probes.host import REPO


def test_no_openvino_torch_or_server_code_imported():
    code = ("import sys, gateway, gateway.app; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('openvino', 'torch', 'ragbot', 'ovms_host', 'optimum', 'transformers')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_settings_cli_over_env():
    env = {"GATEWAY_OVMS_URL": "ovms:9000", "GATEWAY_PORT": "9100", "GATEWAY_API_KEY": "sekret-key-123",
           "GATEWAY_CORS_ORIGINS": "http://a, http://b", "GATEWAY_SOURCES_FOOTNOTE": "true",
           "GATEWAY_MODELS": "python_model,other"}
    s = GatewaySettings.parse(["--port", "9200"], env)
    assert (s.ovms_url, s.port, s.api_key, s.cors_origins, s.sources_footnote, s.models) == (
        "ovms:9000", 9200, "sekret-key-123", ("http://a", "http://b"), True, ("python_model", "other"))
    assert "sekret-key-123" not in repr(s)
    d = GatewaySettings.parse([], {})
    assert (d.ovms_url, d.port, d.api_key, d.cors_origins, d.ovms_rest_url) == (
        "localhost:9000", 8001, None, (), None)
    with pytest.raises(SystemExit):
        GatewaySettings.parse(["--models", ""], {})


def test_messages_become_question_history_and_options():
    body = {"model": "python_model", "stream": True, "stream_options": {"include_usage": True},
            "max_completion_tokens": 5, "max_tokens": 9, "temperature": 0.5,
            "messages": [{"role": "developer", "content": "Be brief."},
                         {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                         {"role": "user", "content": "q2"}]}
    chat = parse_chat_request(body, "python_model")
    assert chat.question == "q2" and chat.stream and chat.include_usage
    assert chat.history == [{"role": "user", "content": "(system) Be brief."},
                            {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    assert json.loads(chat.pre_prompt()) == {"question": "q2", "history": chat.history,
                                             "max_new_tokens": 5, "temperature": 0.5,
                                             "renumber_citations": True}
    assert chat.kind.name == "chat" and chat.tools_ignored == 0
    assert parse_chat_request({"messages": [{"role": "user", "content": "x"}]}, "d").model == "d"


@pytest.mark.parametrize("body", [
    {"messages": "hi"}, {"messages": [{"role": "user", "content": "  "}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
    {"messages": [{"role": "user", "content": "q"}], "max_tokens": 0},
    {"messages": [{"role": "user", "content": "q"}], "temperature": 3},
    {"messages": [{"role": "user", "content": "q"}], "n": 2},
    {"messages": [{"role": "user", "content": "q"}], "stream": "yes"},
    {"messages": [{"role": "user", "content": "q"}], "tools": [{"type": "function"}],
     "tool_choice": "required"},
])
def test_bad_bodies_are_bad_requests(body):
    with pytest.raises(BadRequestError):
        parse_chat_request(body, "python_model")


def test_body_must_be_a_json_object():
    with pytest.raises(BadRequestError, match="not valid JSON"):
        decode_body(b"{")
    with pytest.raises(BadRequestError, match="JSON object"):
        decode_body(b"[1]")


def test_grpc_status_names_map_to_http():
    assert [from_grpc_status(n, "m").status for n in
            ("INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "UNAVAILABLE", "INTERNAL",
             "StatusCode.NOT_FOUND", None)] == [400, 404, 429, 503, 500, 404, 500]
    error = from_grpc_status("RESOURCE_EXHAUSTED", "busy")
    assert isinstance(error, OverloadedError) and error.body()["error"]["message"] == "busy"


@pytest.mark.parametrize("message, name", [
    ("server busy: 3 answers are being generated ...; retry later", "RESOURCE_EXHAUSTED"),
    ("Node is already processing data. Create new stream for another request.", "RESOURCE_EXHAUSTED"),
    ("Model with requested name x is not found (served: python_model)", "NOT_FOUND"),
    ("Model python_model is not ready (still loading)", "UNAVAILABLE"),
    ("Server is shutting down: not accepting new requests", "UNAVAILABLE"),
    ("Error occurred during graph execution: boom", "INTERNAL"),
    ('"question" must be a non-empty string', "INVALID_ARGUMENT"),
])
def test_stream_error_messages_read_as_status(message, name):
    assert status_name_of_stream_message(message) == name


def test_end_signal_passes_sources_through_and_reads_in_band_errors():
    end = parse_end_signal(json.dumps({
        "sources": [{"source": "a.md", "title": "A", "score": 0.5, "excerpt": "x", "cited": False},
                    {"source": "b.pdf", "page": 2}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4}, "finish_reason": "length"}).encode())
    assert end.sources == [{"source": "a.md", "title": "A", "score": 0.5, "cited": False},
                           {"source": "b.pdf", "page": 2}]
    assert end.excerpts == ["x", ""]
    kept = parse_end_signal(b'{"sources": [{"source": "a.md", "section": "Care", "rank": 2}]}')
    assert kept.sources == [{"source": "a.md", "section": "Care", "rank": 2}]
    assert end.usage() == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert end.finish_reason == "length" and end.error is None
    failed = parse_end_signal(b'{"error": {"code": "UNAVAILABLE", "message": "later"}, '
                              b'"finish_reason": "error", "answer": ""}')
    assert isinstance(failed.error, UnavailableError) and failed.error.message == "later"
    assert isinstance(parse_end_signal(b'{"finish_reason": "error"}').error, UpstreamError)
    with pytest.raises(UpstreamError):
        parse_end_signal(b"not json")


def test_an_unsupported_citation_is_flagged_on_its_source_and_in_the_footnote():
    from gateway.sources import openwebui_source_events, sources_footnote

    end = parse_end_signal(json.dumps({
        "sources": [{"source": "a.md", "title": "A", "cited": True, "excerpt": "x"},
                    {"source": "b.md", "title": "B", "cited": True, "excerpt": "y"}],
        "unsupported_citations": [2]}).encode())
    assert "supported" not in end.sources[0] and end.sources[1]["supported"] is False
    lines = sources_footnote(end.sources).splitlines()
    assert "⚠" not in lines[-2] and "does not hold what the answer cites it for" in lines[-1]
    events = openwebui_source_events(end.sources, end.excerpts)
    assert events[1]["data"]["source"]["name"].startswith("⚠ B")


def test_every_error_has_openais_shape():
    for cls in (BadRequestError, ModelNotFoundError, OverloadedError, UnavailableError, UpstreamError):
        body = cls("why").body()["error"]
        assert issubclass(cls, GatewayError) and set(body) >= {"message", "type", "code"}


def test_oldest_history_turns_are_dropped_to_fit_the_prompt_cap():
    turns = [{"role": r, "content": f"{r} turn {i} " + "x" * 100}
             for i in range(10) for r in ("user", "assistant")]
    chat = parse_chat_request({"messages": turns + [{"role": "user", "content": "q"}]}, "m")
    full = chat.pre_prompt()
    fitted = json.loads(chat.pre_prompt(max_bytes=len(full) // 2))
    assert len(chat.pre_prompt(max_bytes=len(full) // 2)) <= len(full) // 2
    assert fitted["question"] == "q" and fitted["history"] == turns[-len(fitted["history"]):]
    assert 0 < len(fitted["history"]) < len(turns)
    assert json.loads(chat.pre_prompt(max_bytes=10))["history"] == []  # the question is kept


OPEN_WEBUI_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openwebui-0.12.4"


def owui(name: str) -> dict:
    return json.loads((OPEN_WEBUI_FIXTURES / name).read_text())


def test_tools_without_a_forcing_tool_choice_are_ignored():
    body = owui("chat-with-builtin-tools.json")
    assert len(body["tools"]) == 36 and "tool_choice" not in body
    chat = parse_chat_request(body, "python_model")
    assert chat.tools_ignored == 36 and chat.kind.name == "chat"
    assert chat.question == "What is OpenVINO Model Server?"
    for choice in ("auto", "none"):
        assert parse_chat_request({**body, "tool_choice": choice}, "m").tools_ignored == 36


@pytest.mark.parametrize("choice, needle", [
    ("required", "asks for a tool call"),
    ({"type": "function", "function": {"name": "search_web"}}, "'search_web'"),
])
def test_a_forced_tool_call_is_a_clear_400(choice, needle):
    with pytest.raises(BadRequestError) as caught:
        parse_chat_request({**owui("chat-with-builtin-tools.json"), "tool_choice": choice}, "m")
    assert needle in caught.value.message and "cannot call tools" in caught.value.message
    assert caught.value.code == "tools_not_supported"


@pytest.mark.parametrize("name, task", [
    ("chat-first-turn.json", False), ("chat-second-turn.json", False),
    ("chat-with-builtin-tools.json", False),
    ("task-title.json", True), ("task-tags.json", True), ("task-follow-ups.json", True),
])
def test_open_webui_requests_are_told_apart(name, task):
    chat = parse_chat_request(owui(name), "python_model", task_max_tokens=256)
    assert chat.kind.task is task
    wire = json.loads(chat.pre_prompt())
    if task:
        assert (wire["retrieval"], wire["loop_guard"], wire["background"]) == (False, False, True)
        assert wire["max_new_tokens"] <= 256  # the title asks for 1000
        assert "renumber_citations" not in wire
        assert wire["question"].startswith("### Task:")
    else:
        assert "retrieval" not in wire and "loop_guard" not in wire and wire["renumber_citations"]
        assert "background" not in wire


@pytest.mark.parametrize("body, why", [
    ({"response_format": {"type": "json_object"}}, "response_format"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x"}}}, "response_format"),
    ({"messages": [{"role": "system", "content": "Reply in JSON only."},
                   {"role": "user", "content": "Name three fruits"}]}, "system prompt asks for JSON"),
    ({"messages": [{"role": "user", "content": "  ### Task:\nSuggest an emoji."}]}, "task prompt"),
])
def test_what_makes_a_task(body, why):
    body = {"messages": [{"role": "user", "content": "q"}], **body}
    assert parse_chat_request(body, "m").kind.why == why


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "What is JSON?"}]},
    {"messages": [{"role": "system", "content": "You are a pirate."},
                  {"role": "user", "content": "Where is the zorblat grown?"}]},
    {"messages": [{"role": "user", "content": "Explain the ### Task: header"}]},
    {"messages": [{"role": "user", "content": "q"}], "response_format": {"type": "text"}},
])
def test_questions_stay_questions(body):
    assert parse_chat_request(body, "m").kind.task is False


def test_a_plain_model_id_is_always_a_plain_completion():
    chat = parse_chat_request({"messages": [{"role": "user", "content": "Where is it grown?"}]},
                              "m", plain=True)
    assert chat.kind.why == "plain model"
    assert json.loads(chat.pre_prompt())["retrieval"] is False


def test_the_gateways_footnote_is_taken_out_of_the_history():
    from gateway.sources import sources_footnote

    sources = [{"source": "https://example.com/a", "title": "Guide", "section": "Install",
                "score": 0.8, "cited": True}, {"source": "b.md", "title": "B", "score": 0.4}]
    footnote = sources_footnote(sources)
    assert "- [1] [Guide › Install](https://example.com/a) · score 0.80 · **cited**" in footnote
    answer = "It installs with pip [1]."
    body = {"messages": [{"role": "user", "content": "How?"},
                         {"role": "assistant", "content": answer + footnote},
                         {"role": "user", "content": "And then?"}]}
    chat = parse_chat_request(body, "m")
    assert chat.history[1]["content"] == answer
    # text that merely mentions sources stays
    kept = "See **Sources** below:\n- [1] is a list item, not ours. More text."
    assert parse_chat_request({"messages": [{"role": "assistant", "content": kept},
                                            {"role": "user", "content": "q"}]}, "m"
                              ).history[0]["content"] == kept


def test_open_webui_source_events_one_per_passage():
    from gateway.sources import openwebui_source_events

    sources = [{"source": "https://example.com/guide", "title": "Guide", "section": "Install",
                "score": 0.8, "cited": True, "rank": 2},
               {"source": "https://example.com/guide", "title": "Guide", "section": "Use",
                "score": 0.7, "cited": False, "rank": 1},
               {"source": "manual.pdf", "title": "Manual", "page": 3, "score": 0.5}]
    events = openwebui_source_events(sources, ["install text", "use text", "manual text"])
    assert [e["type"] for e in events] == ["source"] * 3
    ids = [e["data"]["metadata"][0]["source"] for e in events]
    assert len(set(ids)) == 3 and not any(i.startswith("http") for i in ids)
    first = events[0]["data"]
    assert first["source"] == {"id": ids[0], "name": "Guide › Install", "url": "https://example.com/guide"}
    assert first["document"] == ["install text"] and first["distances"] == [0.8]
    assert first["metadata"][0] == {"source": ids[0], "name": "Guide › Install", "cited": True, "rank": 2}
    assert events[2]["data"]["source"] == {"id": ids[2], "name": "Manual, page 3"}


def test_rate_limiter_buckets_per_client():
    from gateway.errors import RateLimitedError
    from gateway.rate_limit import RateLimiter

    now = [0.0]
    limiter = RateLimiter(per_minute=6, burst=2, clock=lambda: now[0])
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(RateLimitedError) as caught:
        limiter.check("a")
    assert caught.value.status == 429 and caught.value.headers() == {"Retry-After": "10"}
    limiter.check("b")  # another client has its own bucket
    now[0] = 10.0
    limiter.check("a")  # one token back after 10 s at 6 per minute
    assert not RateLimiter(0, 0).enabled
    RateLimiter(0, 0).check("a")


def test_new_settings_and_their_defaults():
    d = GatewaySettings.parse([], {})
    assert (d.max_body_bytes, d.plain_suffix, d.rate_limit, d.burst) == (4 * 1024 * 1024, "-plain", 0.0, 4)
    s = GatewaySettings.parse(["--rate_limit", "60"], {"GATEWAY_MAX_BODY_BYTES": "1000",
                                                       "GATEWAY_PLAIN_SUFFIX": ""})
    assert (s.max_body_bytes, s.plain_suffix, s.rate_limit, s.burst) == (1000, "", 60.0, 14)
    with pytest.raises(SystemExit):
        GatewaySettings.parse(["--rate_limit", "-1"], {})
