"""The gateway in front of the real RAG servable (the shared `rag_host`: tiny-random +
all-MiniLM-L6-v2), driven by the `openai` SDK and LangChain's ChatOpenAI.

The random model's words mean nothing, so these tests check what the servable decides
(retrieved sources, token counts it reports, the length limit it was given) and what the
server's own /metrics counted, never the wording.
"""
from __future__ import annotations

import asyncio
import time

import openai
import pytest

from tests.gateway.conftest import server_metrics

CANCELLED = 'ragbot_requests_total{outcome="cancelled"}'


@pytest.fixture(scope="module")
def client(rag_gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=rag_gateway.base_url, api_key="unused", max_retries=0,
                         timeout=120)


def test_model_list(client):
    assert [m.id for m in client.models.list()] == ["python_model", "python_model-plain"]


def test_streamed_answer_with_usage_and_sources(client):
    stream = client.chat.completions.create(
        model="python_model", stream=True, stream_options={"include_usage": True},
        max_tokens=12, messages=[{"role": "user", "content": "What colour is the zorblat fruit?"}])
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip()
    final = next(c for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.choices[0].finish_reason in ("stop", "length")
    sources = final.model_extra["sources"]
    assert sources[0]["source"] == "zorblat.md"
    assert {"source", "title", "score"} <= set(sources[0])
    usage = chunks[-1].usage
    assert 0 < usage.completion_tokens <= 12 and usage.prompt_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_whole_answer_with_history(client):
    messages = [{"role": "user", "content": "What is a zorblat?"},
                {"role": "assistant", "content": "A purple fruit."},
                {"role": "user", "content": "When does the Quantum Bakery open?"}]
    done = client.chat.completions.create(model="python_model", messages=messages, max_tokens=6,
                                          temperature=0)
    assert done.choices[0].message.role == "assistant" and done.choices[0].message.content
    assert done.choices[0].finish_reason in ("stop", "length")
    assert 0 < done.usage.completion_tokens <= 6
    assert done.choices[0].message.model_extra["sources"][0]["source"] == "quantum_bakery.txt"


def test_langchain_chat_openai(rag_gateway):
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=rag_gateway.base_url, api_key="unused", model="python_model",
                     max_tokens=6, temperature=0, max_retries=0, timeout=120)
    reply = llm.invoke("When does the Quantum Bakery open?")
    assert isinstance(reply.content, str) and reply.content
    assert 0 < reply.usage_metadata["output_tokens"] <= 6


def test_closing_the_stream_counts_a_cancelled_request(client, rag_host):
    before = server_metrics(rag_host).get(CANCELLED, 0)
    # greedy decoding and a limit far past what the first chunks take: still generating
    # when the client leaves
    stream = client.chat.completions.create(
        model="python_model", stream=True, max_tokens=1500, temperature=0,
        messages=[{"role": "user", "content": "Tell me everything about zorblat."}])
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()
    deadline = time.monotonic() + 20
    while server_metrics(rag_host).get(CANCELLED, 0) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    after = server_metrics(rag_host)
    assert after.get(CANCELLED, 0) == before + 1, "the server did not see the close"
    assert after["ragbot_active_streams"] == 0


def test_sixteen_concurrent_streamed_chats_all_complete(rag_gateway):
    async def one(client: openai.AsyncOpenAI, n: int) -> tuple[str, int]:
        stream = await client.chat.completions.create(
            model="python_model", stream=True, stream_options={"include_usage": True},
            max_tokens=8, messages=[{"role": "user", "content": f"Question {n}: which river freezes?"}])
        finish, tokens = None, None
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
        return finish, tokens

    async def all_of_them():
        async with openai.AsyncOpenAI(base_url=rag_gateway.base_url, api_key="unused",
                                      max_retries=0, timeout=300) as client:
            return await asyncio.gather(*(one(client, n) for n in range(16)))

    results = asyncio.run(all_of_them())
    assert len(results) == 16
    assert all(finish in ("stop", "length") and 0 < tokens <= 8 for finish, tokens in results), results
