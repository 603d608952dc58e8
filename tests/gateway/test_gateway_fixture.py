"""The gateway driven by the official `openai` SDK, in front of a real host serving the
deterministic chat fixture (so wording, sources and errors are under the test's control)."""
from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from probes.gateway import start_gateway

pytestmark = pytest.mark.host

ECHO = "Echo: {q} | history turns: {n} | end"


@pytest.fixture(scope="module")
def client(fixture_gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=fixture_gateway.base_url, api_key="unused", max_retries=0,
                         timeout=30)


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_model_list_puts_python_model_first_and_shows_every_known_graph(client, fixture_gateway):
    assert [m.id for m in client.models.list()] == ["python_model", "python_model-plain",
                                                    "broken_model", "broken_model-plain"]
    v1 = openai.OpenAI(base_url=fixture_gateway.url + "/v1", api_key="x", max_retries=0)
    assert [m.id for m in v1.models.list()][0] == "python_model"


def test_stream_role_first_then_content_then_finish_with_sources_and_usage(client):
    stream = client.chat.completions.create(model="python_model", messages=user("hello there"),
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == ECHO.format(q="hello there", n=0)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    web, pdf = finals[0].model_extra["sources"]
    assert web == {"source": "https://example.com/guide.html", "title": "Fixture guide",
                   "score": 0.91, "cited": True}
    assert pdf == {"source": "/data/manual.pdf", "title": "Fixture manual", "page": 3, "score": 0.42}
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage.prompt_tokens == 7
    assert usage_chunk.usage.completion_tokens == 9 and usage_chunk.usage.total_tokens == 16
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)


def test_stream_without_include_usage_has_no_usage_chunk(client):
    chunks = list(client.chat.completions.create(model="python_model", messages=user("hi"),
                                                 stream=True))
    assert all(c.choices for c in chunks) and all(c.usage is None for c in chunks)


def test_whole_answer_with_history_and_a_system_turn_folded_into_it(client):
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"},
                {"role": "user", "content": [{"type": "text", "text": "follow up"}]}]
    done = client.chat.completions.create(model="python_model", messages=messages, max_tokens=3)
    assert done.object == "chat.completion"
    assert done.choices[0].message.content == ECHO.format(q="follow up", n=3)
    assert done.choices[0].finish_reason == "length"  # the fixture saw max_new_tokens=3
    assert done.usage.completion_tokens == 9 and done.usage.total_tokens == 16
    sources = done.choices[0].message.model_extra["sources"]
    assert [s["source"] for s in sources] == ["https://example.com/guide.html", "/data/manual.pdf"]


def test_sources_footnote_is_a_request_option(client):
    done = client.chat.completions.create(model="python_model", messages=user("cite"),
                                          extra_body={"sources_footnote": True})
    text = done.choices[0].message.content
    assert text.startswith(ECHO.format(q="cite", n=0) + "\n\n**Sources**\n\n")
    assert "- [1] [Fixture guide](https://example.com/guide.html)" in text
    assert "- [2] Fixture manual (`/data/manual.pdf`), page 3" in text
    streamed = client.chat.completions.create(model="python_model", messages=user("cite"),
                                              stream=True, extra_body={"sources_footnote": True})
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == text


@pytest.mark.parametrize("messages, needle", [
    ([], '"messages" must be a non-empty list'),
    ([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
     "the last message must come from the user"),
    ([{"role": "tool", "content": "x"}, {"role": "user", "content": "q"}], "'tool' is not supported"),
])
def test_bad_messages_are_400(client, messages, needle):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="python_model", messages=messages)
    assert caught.value.status_code == 400 and needle in caught.value.message
    assert caught.value.body["type"] == "invalid_request_error"


def test_bad_json_is_400_in_openais_shape(fixture_gateway):
    r = httpx.post(fixture_gateway.base_url + "/chat/completions", content=b"{not json",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert set(error) >= {"message", "type", "code"} and error["code"] == "invalid_json"


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="no_such_model", messages=user("q"))
    assert caught.value.body["code"] == "model_not_found"


def test_unready_model_is_503(client):
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="broken_model", messages=user("q"))
    # the host's status, as OVMS words it for a graph that is not loaded
    assert caught.value.status_code == 503 and "not loaded yet" in caught.value.message


def test_overload_refused_in_band_is_429(client):
    """The servable refuses an overload in-band: end_signal error RESOURCE_EXHAUSTED."""
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="python_model", messages=user("busy please"),
                                       stream=True)
    assert "server busy" in caught.value.message


@pytest.mark.parametrize("code, error_class, status", [
    ("INVALID_ARGUMENT", openai.BadRequestError, 400),
    ("NOT_FOUND", openai.NotFoundError, 404),
    ("RESOURCE_EXHAUSTED", openai.RateLimitError, 429),
    ("UNAVAILABLE", openai.InternalServerError, 503),
    ("INTERNAL", openai.InternalServerError, 500),
])
@pytest.mark.parametrize("stream", [False, True])
def test_in_band_end_signal_errors_map_to_http(client, code, error_class, status, stream):
    with pytest.raises(error_class) as caught:
        client.chat.completions.create(model="python_model", messages=user(f"inband:{code}"),
                                       stream=stream)
    assert caught.value.status_code == status
    assert caught.value.body["message"] == f"fixture in-band {code}"


def test_error_after_text_arrives_as_an_sse_error_event(client):
    stream = client.chat.completions.create(model="python_model",
                                            messages=user("inband:RESOURCE_EXHAUSTED@3"), stream=True)
    got = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in stream:
            got.append(chunk.choices[0].delta.content or "")
    assert "".join(got) == "w1 w2 w3"
    assert caught.value.body["code"] == "server_busy"


def test_servable_exception_mid_stream_is_a_server_error_event(client):
    stream = client.chat.completions.create(model="python_model", messages=user("error now"),
                                            stream=True)
    with pytest.raises(openai.APIError, match="fixture exploded on purpose"):
        list(stream)


def test_closing_the_stream_stops_generation_on_the_server(client, gateway_markers):
    stream = client.chat.completions.create(model="python_model", messages=user("long:gwclose"),
                                            stream=True)
    seen = 0
    for chunk in stream:
        seen += bool(chunk.choices[0].delta.content)
        if seen == 3:
            break
    stream.close()
    assert gateway_markers.wait_closed("gwclose"), "the server kept generating after the close"
    stopped_at = gateway_markers.count("gwclose")
    assert stopped_at < 2000
    time.sleep(0.3)
    assert gateway_markers.count("gwclose") == stopped_at


def test_a_request_line_per_chat_without_user_text(client, fixture_gateway):
    client.chat.completions.create(model="python_model", messages=user("SECRET-QUESTION-MARKER"))
    log = fixture_gateway.log_text()
    assert "SECRET-QUESTION-MARKER" not in log
    lines = [l for l in log.splitlines() if "gateway.requests" in l]
    assert any("outcome=ok status=200" in l and "stream=false" in l for l in lines)
    assert "listening on http://127.0.0.1" in log and "upstream KServe gRPC 127.0.0.1:" in log


def test_unreachable_server_is_503(closed_port_url):
    with start_gateway(closed_port_url) as gw:
        c = openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0, timeout=30)
        with pytest.raises(openai.InternalServerError) as caught:
            c.chat.completions.create(model="python_model", messages=user("anyone?"), stream=True)
        assert caught.value.status_code == 503
        assert f"cannot reach the model server at {closed_port_url}" in caught.value.message
        with pytest.raises(openai.InternalServerError):
            c.models.list()
        assert httpx.get(gw.url + "/ready").status_code == 503
        assert httpx.get(gw.url + "/health").status_code == 200


def test_api_key_and_cors(fixture_host):
    origin = "http://chat.example"
    with start_gateway(fixture_host.grpc_url, ("--cors_origins", origin),
                       env={"GATEWAY_API_KEY": "sekret"}) as gw:
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=gw.base_url, api_key="wrong", max_retries=0).models.list()
        keyed = openai.OpenAI(base_url=gw.base_url, api_key="sekret", max_retries=0)
        assert keyed.chat.completions.create(model="python_model", messages=user("k")) \
            .choices[0].message.content == ECHO.format(q="k", n=0)
        pre = httpx.options(gw.base_url + "/chat/completions",
                            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                     "Access-Control-Request-Headers": "authorization"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == origin
        assert httpx.get(gw.url + "/health").status_code == 200  # probes need no key
        assert "sekret" not in gw.log_text()


def test_cors_is_off_by_default(fixture_gateway):
    r = httpx.get(fixture_gateway.base_url + "/models", headers={"Origin": "http://chat.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers


def test_http_errors_keep_openais_shape(fixture_gateway):
    r = httpx.get(fixture_gateway.url + "/v3/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = httpx.get(fixture_gateway.base_url + "/chat/completions")
    assert r.status_code == 405 and json.loads(r.text)["error"]["type"] == "invalid_request_error"


def test_model_list_from_ovms_rest_config_and_the_servers_own_404(fixture_host):
    with start_gateway(fixture_host.grpc_url, ("--ovms_rest_url", fixture_host.rest_url)) as gw:
        c = openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0, timeout=30)
        assert [m.id for m in c.models.list()] == ["python_model", "python_model-plain",
                                                   "broken_model", "broken_model-plain"]
        with pytest.raises(openai.NotFoundError, match="is not found"):  # the server decided
            c.chat.completions.create(model="no_such_model", messages=user("q"))


def test_a_whole_answer_left_by_its_client_stops_generation(fixture_gateway, gateway_markers):
    impatient = openai.OpenAI(base_url=fixture_gateway.base_url, api_key="x", max_retries=0,
                              timeout=1.0)
    with pytest.raises(openai.APITimeoutError):
        impatient.chat.completions.create(model="python_model", messages=user("long:gwwhole"))
    assert gateway_markers.wait_closed("gwwhole"), "the server kept generating for a gone client"
    assert "outcome=cancelled status=499" in fixture_gateway.log_text()


def test_no_upstream_response_within_idle_timeout_is_504(fixture_host, gateway_markers):
    with start_gateway(fixture_host.grpc_url, ("--idle_timeout", "0.5")) as gw:
        c = openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0, timeout=30)
        with pytest.raises(openai.APIStatusError) as caught:
            c.chat.completions.create(model="python_model", messages=user("long:gwidle@3"),
                                      stream=True)
        assert caught.value.status_code == 504 and "no response from the model server" in \
            caught.value.message
    assert gateway_markers.wait_closed("gwidle", timeout=10), "the timed-out stream was not cancelled"


def test_round_robin_spreads_streams_over_several_servers(fixture_host, gateway_marker_dir, tmp_path):
    """`--grpc_lb round_robin` with a target of two servers (as a headless Service resolves
    to several pods): new streams alternate between them."""
    from tests.chat_markers import Markers
    from tests.gateway.conftest import FIXTURE_CONFIG
    from probes.host import start_host

    second_dir = tmp_path / "second"
    second_dir.mkdir()
    with start_host(FIXTURE_CONFIG, env={"CHAT_FIXTURE_DIR": str(second_dir),
                                         "CHAT_FIXTURE_LONG_DELAY": "0.05"}) as second:
        second.wait_ready(timeout=60)
        target = f"ipv4:{fixture_host.grpc_url},{second.grpc_url}"
        with start_gateway(target, ("--grpc_lb", "round_robin")) as gw:
            c = openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0, timeout=30)
            for n in range(6):
                stream = c.chat.completions.create(model="python_model", stream=True,
                                                   messages=user(f"long:rr{n}"))
                next(iter(stream))
                stream.close()
        first_markers = Markers(gateway_marker_dir)
        served = [(first_markers.wait_closed(f"rr{n}", 0.5), Markers(second_dir).wait_closed(f"rr{n}", 0.5))
                  for n in range(6)]
    assert all(a != b for a, b in served), served  # each stream ran on exactly one server
    assert any(a for a, _ in served) and any(b for _, b in served), served


def raw_chat(gw, body: dict | bytes, **headers) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(gw.base_url + "/chat/completions", content=content, timeout=30,
                      headers={"Content-Type": "application/json", **headers})


def test_an_error_mid_stream_is_followed_by_done(fixture_gateway):
    r = raw_chat(fixture_gateway, {"model": "python_model", "stream": True,
                                   "messages": user("inband:INTERNAL@2")})
    events = [e for e in r.text.split("\n\n") if e.startswith("data: ")]
    assert json.loads(events[-2][len("data: "):])["error"]["message"] == "fixture in-band INTERNAL"
    assert events[-1] == "data: [DONE]"


def test_a_refused_request_is_logged_with_what_came_in(fixture_gateway):
    r = raw_chat(fixture_gateway, {"model": "python_model", "stream": True, "messages": user("q"),
                                   "tools": [{"type": "function", "function": {"name": "f"}}],
                                   "tool_choice": "required"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "tools_not_supported"
    lines = [l for l in fixture_gateway.log_text().splitlines() if "reason=tools_not_supported" in l]
    assert lines and "model=python_model stream=true kind=- tools=1 outcome=invalid status=400" in lines[-1]


def test_a_body_over_the_cap_is_413(fixture_host):
    with start_gateway(fixture_host.grpc_url, ("--max_body_bytes", "2000")) as gw:
        small = raw_chat(gw, {"model": "python_model", "messages": user("fits")})
        assert small.status_code == 200
        big = {"model": "python_model", "messages": user("x" * 5000)}
        r = raw_chat(gw, big)
        assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

        def chunked():  # no Content-Length: counted while it streams in
            data = json.dumps(big).encode()
            for i in range(0, len(data), 500):
                yield data[i:i + 500]

        r = httpx.post(gw.base_url + "/chat/completions", content=chunked(), timeout=30,
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert "outcome=invalid status=413" in gw.log_text()


def test_rate_limit_per_client_is_429_with_retry_after(fixture_host):
    with start_gateway(fixture_host.grpc_url, ("--rate_limit", "6", "--rate_burst", "2")) as gw:
        ok = [raw_chat(gw, {"messages": user("hi")}).status_code for _ in range(2)]
        refused = raw_chat(gw, {"messages": user("hi")})
        assert ok == [200, 200] and refused.status_code == 429
        assert refused.headers["retry-after"] == "10"
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        with pytest.raises(openai.RateLimitError):
            openai.OpenAI(base_url=gw.base_url, api_key="x", max_retries=0).chat.completions.create(
                model="python_model", messages=user("again"))
        assert httpx.get(gw.url + "/health").status_code == 200  # probes are not limited
        assert "gateway_rate_limited_total 2.0" in httpx.get(gw.url + "/metrics").text
