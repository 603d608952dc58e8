"""The gateway's pure parts: settings, the request mapping, end_signal, error mapping, surface."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

import gateway
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


def test_public_surface():
    assert gateway.__all__ == ["create_app", "GatewaySettings", "GatewayError", "main"]
    for name in gateway.__all__:
        assert getattr(gateway, name) is not None


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
                                             "max_new_tokens": 5, "temperature": 0.5}
    assert parse_chat_request({"messages": [{"role": "user", "content": "x"}]}, "d").model == "d"


@pytest.mark.parametrize("body", [
    {"messages": "hi"}, {"messages": [{"role": "user", "content": "  "}]},
    {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
    {"messages": [{"role": "user", "content": "q"}], "max_tokens": 0},
    {"messages": [{"role": "user", "content": "q"}], "temperature": 3},
    {"messages": [{"role": "user", "content": "q"}], "n": 2},
    {"messages": [{"role": "user", "content": "q"}], "stream": "yes"},
    {"messages": [{"role": "user", "content": "q"}], "tools": [{"type": "function"}]},
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
    assert end.usage() == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
    assert end.finish_reason == "length" and end.error is None
    failed = parse_end_signal(b'{"error": {"code": "UNAVAILABLE", "message": "later"}, '
                              b'"finish_reason": "error", "answer": ""}')
    assert isinstance(failed.error, UnavailableError) and failed.error.message == "later"
    assert isinstance(parse_end_signal(b'{"finish_reason": "error"}').error, UpstreamError)
    with pytest.raises(UpstreamError):
        parse_end_signal(b"not json")


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
