"""Open WebUI 0.12.4's own requests (recorded: fixtures/openwebui-0.12.4/), replayed byte for
byte against a real gateway in front of a real host serving servable_stream/ with the
tiny-random model, the real MiniLM embeddings and the repository's sample document.

The random model's words mean nothing, so the words that matter are forced
(the forced-output backend double, probes/backend_doubles: the model's logits allow only the
given tokens; everything after them is the product's code). Checked: chat gets a streamed RAG answer whose passages
arrive as Open WebUI source events, one per passage, in the order of the [n] in the text;
the title, tags and follow-ups get their whole JSON, without passages; builtin tools are
ignored; a footnote echoed back in the history does not reach the model.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from probes.backend_doubles import backend_env
from probes.gateway import start_gateway
from probes.host import start_host
from probes.knowledge import REPO, SERVABLE, rag_env
from probes.kserve import ask

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openwebui-0.12.4"

# What the model says, by a needle of its rendered prompt (first match wins). The chat
# answers cite the second passage first: the gateway must show it as [1]. (Their claims name
# no number or name, so the servable's citation repair leaves the numbers as the model wrote
# them: "over gRPC and REST [2]" would go out as [1], the passage that says REST.)
FIRST_ANSWER = "It serves models to many clients [2]. It answers from documents [1] [2]."
FIRST_SHOWN = "It serves models to many clients [1]. It answers from documents [2] [1]."
SECOND_ANSWER = "The default embedding model is all-mpnet-base-v2 [1]."
TITLE = '{ "title": "OpenVINO Model Server" }'
# Each repeats one block of tokens three times or more: the loop guard would cut them.
TAGS = '{ "tags": ["Technology", "Technology", "Technology", "Technology"] }'
FOLLOW_UPS = ('{ "follow_ups": ["Tell me more about it.", "Tell me more about it.", '
              '"Tell me more about it.", "Tell me more about it."] }')
FORCED = [
    ["Generate a concise title", TITLE],
    ["Generate 1-3 broad tags", TAGS],
    ["Predict 3-5 useful messages", FOLLOW_UPS],
    ["Question: What is OpenVINO Model Server?", FIRST_ANSWER],
    ["Question: Which embedding model is used by default?", SECOND_ANSWER],
]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="module")
def prompt_log(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("owui") / "prompts.jsonl"


@pytest.fixture(scope="module")
def owui_host(tmp_path_factory, prompt_log):
    kb = tmp_path_factory.mktemp("owui_kb")
    shutil.copy(SERVABLE / "sample_docs" / "openvino_model_server.md", kb)
    docs = kb / "docs.txt"
    docs.write_text("openvino_model_server.md\n", encoding="utf-8")
    env = rag_env(docs, MIN_SCORE="0", TOP_K="2", MAX_NEW_TOKENS="256")
    env.update(backend_env("forced-output"),
               RAGBOT_TEST_FORCED_OUTPUTS=json.dumps(FORCED), RAGBOT_TEST_PROMPT_LOG=str(prompt_log))
    with start_host(SERVABLE / "config.json", env=env) as host:
        host.wait_ready(model="python_model", timeout=240)
        yield host


@pytest.fixture(scope="module")
def owui_gateway(owui_host):
    with start_gateway(owui_host.grpc_url) as gw:
        yield gw


def post(gw, raw: bytes) -> httpx.Response:
    return httpx.post(gw.base_url + "/chat/completions", content=raw, timeout=120,
                      headers={"Content-Type": "application/json", "Authorization": "Bearer unused"})


def sse(response: httpx.Response) -> tuple[list[dict], bool]:
    """The data events of a stream as JSON, and whether it ended with [DONE]."""
    assert response.headers["content-type"].startswith("text/event-stream")
    data = [line[len("data: "):] for line in response.text.split("\n\n") if line.startswith("data: ")]
    done = bool(data) and data[-1] == "[DONE]"
    return [json.loads(d) for d in data if d != "[DONE]"], done


def streamed_answer(chunks: list[dict]) -> tuple[str, list[dict], dict]:
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    events = [c["event"] for c in chunks if "event" in c]
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"])
    return text, events, final


def assert_open_webui_sources(text: str, events: list[dict], final: dict) -> None:
    """What Open WebUI 0.12.4 does with them (Citations.svelte): one source per distinct
    metadata.source, numbered by first appearance; "[n]" opens source n."""
    assert events and all(e["type"] == "source" for e in events)
    ids = [e["data"]["metadata"][0]["source"] for e in events]
    assert len(set(ids)) == len(ids), "two passages share an id: Open WebUI would merge them"
    for e in events:
        data = e["data"]
        assert data["document"][0].strip() and data["source"]["name"] == data["metadata"][0]["name"]
        assert len(data["document"]) == len(data["metadata"]) == len(data["distances"]) == 1
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert cited and all(1 <= n <= len(events) for n in cited), (text, len(events))
    # cited ones first, in the order the text cites them
    flags = [e["data"]["metadata"][0]["cited"] for e in events]
    assert flags == sorted(flags, reverse=True)
    assert [s["source"] for s in final["sources"]] and len(final["sources"]) == len(events)
    assert [s.get("rank") for s in final["sources"]] == \
        [e["data"]["metadata"][0].get("rank") for e in events]


def test_chat_with_builtin_tools_gets_a_streamed_rag_answer(owui_gateway):
    r = post(owui_gateway, body("chat-with-builtin-tools.json"))
    assert r.status_code == 200, r.text
    chunks, done = sse(r)
    assert done and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text, events, final = streamed_answer(chunks)
    assert text == FIRST_SHOWN
    assert_open_webui_sources(text, events, final)
    assert len(events) == 2
    # the model cited passage 2 first: it is shown first, as [1]
    assert [e["data"]["metadata"][0]["rank"] for e in events] == [2, 1]
    assert all(e["data"]["metadata"][0]["cited"] for e in events)
    metrics = httpx.get(owui_gateway.url + "/metrics").text
    assert "gateway_tools_ignored_total 1.0" in metrics
    log = owui_gateway.log_text()
    assert re.search(r"model=python_model stream=true kind=chat tools_ignored=36 outcome=ok status=200", log)


@pytest.mark.parametrize("name, answer", [("chat-first-turn.json", FIRST_SHOWN),
                                          ("chat-second-turn.json", SECOND_ANSWER)])
def test_chat_turns_stream_with_sources_in_open_webuis_form(owui_gateway, name, answer):
    r = post(owui_gateway, body(name))
    assert r.status_code == 200, r.text
    chunks, done = sse(r)
    text, events, final = streamed_answer(chunks)
    assert done and text == answer and final["choices"][0]["finish_reason"] == "stop"
    assert_open_webui_sources(text, events, final)


@pytest.mark.parametrize("name, expected", [
    ("task-title.json", TITLE), ("task-tags.json", TAGS), ("task-follow-ups.json", FOLLOW_UPS)])
def test_tasks_get_their_whole_json_without_passages(owui_gateway, prompt_log, name, expected):
    r = post(owui_gateway, body(name))
    assert r.status_code == 200, r.text
    done = r.json()
    message = done["choices"][0]["message"]
    assert json.loads(message["content"]) == json.loads(expected)
    assert message["content"] == expected and done["choices"][0]["finish_reason"] == "stop"
    assert message["sources"] == []
    prompt = json.loads(prompt_log.read_text().splitlines()[-1])
    assert "### Task:" in prompt and "Passages:" not in prompt and "<<<" not in prompt


def test_the_loop_guard_would_have_cut_that_json(owui_host):
    """The same task through the servable with the loop guard on (what a RAG answer gets):
    the repeated list is cut, which is why tasks turn it off."""
    question = json.loads(body("task-tags.json"))["messages"][0]["content"]
    guarded = ask(owui_host.grpc_url, {"question": question, "retrieval": False})
    assert guarded.end["finish_reason"] == "stop"
    assert TAGS.startswith(guarded.text) and len(guarded.text) < len(TAGS)
    with pytest.raises(ValueError):
        json.loads(guarded.text)


def test_a_footnote_sent_back_in_the_history_does_not_reach_the_model(owui_gateway, prompt_log):
    first = post(owui_gateway, json.dumps({**json.loads(body("chat-first-turn.json")),
                                           "sources_footnote": True}).encode())
    text, events, _ = streamed_answer(sse(first)[0])
    assert "**Sources**" in text and "- [1] " in text
    # a passage of a section is named "title › section", in the footnote as in Open WebUI
    # (a passage the servable found not to back its citation is named with a warning)
    names = [re.sub(r"^⚠ | \(does not hold what the answer cites it for\)$", "", e["data"]["source"]["name"])
             for e in events]
    assert any(" › " in n for n in names) and all(n in text for n in names)
    second = json.loads(body("chat-second-turn.json"))
    second["messages"][1]["content"] = text  # Open WebUI sends the shown answer back
    r = post(owui_gateway, json.dumps(second).encode())
    assert r.status_code == 200
    prompt = json.loads(prompt_log.read_text().splitlines()[-1])
    assert FIRST_SHOWN in prompt and "**Sources**" not in prompt and "score" not in prompt


def test_the_plain_model_id_answers_without_the_documents(owui_gateway, prompt_log):
    models = httpx.get(owui_gateway.base_url + "/models").json()["data"]
    assert [m["id"] for m in models] == ["python_model", "python_model-plain"]
    chat = json.loads(body("chat-first-turn.json"))
    r = post(owui_gateway, json.dumps({**chat, "model": "python_model-plain"}).encode())
    assert r.status_code == 200
    chunks, done = sse(r)
    text, events, final = streamed_answer(chunks)
    assert done and events == [] and final["sources"] == []
    prompt = json.loads(prompt_log.read_text().splitlines()[-1])
    assert "What is OpenVINO Model Server?" in prompt and "Passages:" not in prompt


def test_the_readme_section_names_what_these_tests_use(owui_gateway):
    """README's "Use it from Open WebUI": the base URL is the gateway's default port and /v3
    (what the fixtures were recorded with), and the task model it names is a listed model."""
    from gateway.settings import GatewaySettings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Use it from Open WebUI"):]
    section = section[:section.index("\n## ", 5)]
    url = re.search(r"OPENAI_API_BASE_URL=(\S+)", section).group(1)
    assert url == f"http://127.0.0.1:{GatewaySettings.port}/v3"
    assert "open-webui==0.12.4" in section and FIXTURES.name in section
    listed = [m["id"] for m in httpx.get(owui_gateway.base_url + "/models").json()["data"]]
    task_model = re.search(r"TASK_MODEL_EXTERNAL=(\S+?)`", section).group(1)
    assert task_model in listed
    gateway_flags = re.findall(r"\| the gateway \| `(--\w+)", section) + ["--sources_footnote"]
    assert len(gateway_flags) > 1
    usage = _gateway_help()
    assert all(flag in usage for flag in gateway_flags), gateway_flags
    assert re.search(r"\| the gateway \| `GATEWAY_API_KEY=", section)


def _gateway_help() -> str:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "gateway", "--help"], cwd=REPO, capture_output=True,
                          text=True, check=True).stdout
