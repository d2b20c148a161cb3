"""The chat-completions double itself, driven by the `openai` SDK: answers, streams, faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.llm_double import LLMDouble, Reply

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You answer questions about the CoE."},
    {"role": "user", "content": "Who runs the workshops?"},
]


@pytest.fixture()
def llm() -> Iterator[LLMDouble]:
    with LLMDouble() as double:
        yield double


def client_of(llm: LLMDouble, timeout: float = 2.0) -> OpenAI:
    """A client without retries, so that every fault reaches the test."""
    return OpenAI(base_url=llm.base_url, api_key="test", max_retries=0, timeout=timeout)


def test_a_completion_answers_the_scripted_text_with_usage(llm: LLMDouble) -> None:
    llm.script(Reply("Ada runs them.", completion_tokens=4))

    completion = client_of(llm).chat.completions.create(model="coe-test-model", messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.model == "coe-test-model"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Ada runs them."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 4)
    assert completion.usage.total_tokens == 14


def test_replies_are_consumed_in_order_then_the_default_answers(llm: LLMDouble) -> None:
    llm.script(Reply("one"), Reply("two"))
    client = client_of(llm)

    texts = [
        client.chat.completions.create(model="m", messages=MESSAGES).choices[0].message.content
        for _ in range(3)
    ]

    assert texts == ["one", "two", "I do not know."]
    assert llm.remaining == 0


def test_a_stream_sends_the_text_in_deltas_then_stop(llm: LLMDouble) -> None:
    text = "The CoE runs workshops every second Tuesday, in room 4."
    llm.script(Reply(text, chunk_chars=5))

    chunks = list(client_of(llm).chat.completions.create(model="m", messages=MESSAGES, stream=True))

    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert len(chunks) == 2 + len(range(0, len(text), 5))  # the role chunk, deltas, stop
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert all(c.usage is None for c in chunks)


def test_a_stream_ends_with_usage_only_when_asked(llm: LLMDouble) -> None:
    llm.script(Reply(chunks=["Ada ", "runs ", "them."], prompt_tokens=30))

    chunks = list(
        client_of(llm).chat.completions.create(
            model="m",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    assert [c.choices[0].delta.content for c in chunks[1:4]] == ["Ada ", "runs ", "them."]
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (30, 3)
    assert all(c.usage is None for c in chunks[:-1])


def test_a_429_reaches_the_client_with_its_retry_after(llm: LLMDouble) -> None:
    llm.script(Reply(status=429, retry_after=7), Reply(status=500))
    client = client_of(llm)

    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="m", messages=MESSAGES)
    with pytest.raises(openai.InternalServerError) as failed:
        client.chat.completions.create(model="m", messages=MESSAGES, stream=True)

    assert limited.value.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.code == "rate_limit_exceeded"
    assert failed.value.status_code == 500


def test_a_stall_beyond_the_client_timeout_times_out(llm: LLMDouble) -> None:
    llm.script(Reply("late", stall_s=3))

    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client_of(llm, timeout=0.3).chat.completions.create(model="m", messages=MESSAGES)

    assert time.monotonic() - started < 2


def test_a_stream_stalled_midway_times_out_after_its_first_chunks(llm: LLMDouble) -> None:
    llm.script(Reply(chunks=["a", "b", "c"], stall_after_chunks=2))
    stream = client_of(llm, timeout=0.3).chat.completions.create(
        model="m",
        messages=MESSAGES,
        stream=True,
    )

    received = []
    with pytest.raises(openai.APITimeoutError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)

    assert received == ["", "a", "b"]


def test_a_malformed_stream_fails_while_iterating(llm: LLMDouble) -> None:
    llm.script(Reply("Some words that never finish.", malformed=True), Reply(malformed=True))
    client = client_of(llm)
    stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)

    with pytest.raises(Exception):  # noqa: B017
        for _ in stream:
            pass
    with pytest.raises(Exception):  # noqa: B017
        client.chat.completions.create(model="m", messages=MESSAGES)


def test_requests_are_recorded(llm: LLMDouble) -> None:
    client = client_of(llm)
    client.chat.completions.create(model="coe-test-model", messages=MESSAGES)
    list(client.chat.completions.create(model="other", messages=MESSAGES, stream=True))
    client.models.list()

    bodies = llm.chat_requests()
    assert [(b["model"], b["messages"], b.get("stream", False)) for b in bodies] == [
        ("coe-test-model", MESSAGES, False),
        ("other", MESSAGES, True),
    ]
    assert [(r.method, r.path) for r in llm.requests] == [
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
    ]
    assert llm.requests[0].headers["authorization"] == "Bearer test"
    assert llm.requests[0].reply == llm.default


def test_the_models_are_listed_and_unknown_paths_are_404(llm: LLMDouble) -> None:
    client = client_of(llm)

    assert [m.id for m in client.models.list()] == ["coe-test-model"]
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="coe-test-model", input="hello")
