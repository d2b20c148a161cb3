"""The Slack double itself, driven by slack_sdk's WebClient: faults, and the message store."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError


@pytest.fixture()
def client(double) -> WebClient:
    """A client without retries, so that every fault reaches the test."""
    return WebClient(token="xoxb-test-token", base_url=double.url, timeout=1, retry_handlers=[])


def test_queued_faults_are_consumed_in_order_then_slack_answers(double, client):
    double.fail("chat.postMessage", status=500, times=2).fail(
        "chat.postMessage", status=429, retry_after=7
    )

    statuses = []
    for _ in range(3):
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(channel="C1", text="hello")
        statuses.append((error.value.response.status_code, error.value.response["error"]))
    posted = client.chat_postMessage(channel="C1", text="hello")

    assert statuses == [(500, "internal_error"), (500, "internal_error"), (429, "ratelimited")]
    assert posted["ok"] and double.posted_texts("C1") == ["hello"]
    assert [c.fault for c in double.of("chat.postMessage")] == [
        "status 500",
        "status 500",
        "status 429",
        None,
    ]


def test_a_dropped_request_is_recorded_but_never_answered(double, client):
    double.drop("chat.postMessage")

    with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
        client.chat_postMessage(channel="C1", text="lost")

    assert [c.body["text"] for c in double.of("chat.postMessage")] == ["lost"]
    assert double.posted_texts() == []


def test_slack_sdk_retries_a_dropped_connection_by_default(double):
    double.drop("auth.test")
    client = WebClient(token="xoxb-test-token", base_url=double.url, timeout=1)

    assert client.auth_test()["user_id"] == "UBOT"
    assert [c.fault for c in double.of("auth.test")] == ["drop", None]


def test_a_delayed_post_times_out_on_the_client_but_is_in_the_history(double, client):
    double.delay("chat.postMessage", 2)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.chat_postMessage(
            channel="C1", text="late", metadata={"event_type": "coe_answer", "event_payload": {}}
        )
    assert time.monotonic() - started < 1.9

    history = client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["late"]
    assert history["messages"][0]["metadata"]["event_type"] == "coe_answer"


def test_the_message_store_answers_history_and_replies_like_slack(double, client):
    double.add_message("C1", "<@UBOT> how do I start?", ts="1700000000.100000", user="U1")
    metadata = {"event_type": "coe_answer", "event_payload": {"reference": "A-1"}}
    answer = client.chat_postMessage(
        channel="C1", thread_ts="1700000000.100000", text="Like this.", metadata=metadata
    )
    top = client.chat_postMessage(channel="C1", text="Announcement")
    gone = client.chat_postMessage(channel="C1", text="Oops")
    client.chat_update(channel="C1", ts=top["ts"], text="Announcement (edited)")
    client.chat_delete(channel="C1", ts=gone["ts"])

    history = client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == [
        "Announcement (edited)",
        "<@UBOT> how do I start?",
    ]
    assert history["messages"][1]["reply_count"] == 1
    assert "metadata" not in str(history["messages"])
    assert [m["text"] for m in client.conversations_history(channel="C1", limit=1)["messages"]] == [
        "Announcement (edited)"
    ]
    assert client.conversations_history(channel="C1", oldest=top["ts"])["messages"] == []

    plain = client.conversations_replies(channel="C1", ts="1700000000.100000")
    full = client.conversations_replies(
        channel="C1", ts="1700000000.100000", include_all_metadata=True
    )
    assert [m["ts"] for m in full["messages"]] == ["1700000000.100000", answer["ts"]]
    assert full["messages"][1]["metadata"] == metadata
    assert full["messages"][1]["bot_id"] == "BBOT" and full["messages"][1]["user"] == "UBOT"
    assert "metadata" not in plain["messages"][1]

    with pytest.raises(SlackApiError) as error:
        client.conversations_history(channel="CNOWHERE")
    assert error.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as error:
        client.chat_update(channel="C1", ts=gone["ts"], text="back")
    assert error.value.response["error"] == "message_not_found"


def test_a_post_to_a_user_lands_in_their_direct_message_channel(double, client):
    opened = client.conversations_open(users="U42")["channel"]["id"]
    posted = client.chat_postMessage(channel="U42", text="Hi")

    assert opened == posted["channel"] == "D42"
    assert [m["text"] for m in double.messages("D42")] == ["Hi"]


def test_json_strings_in_form_bodies_are_decoded(double, client):
    client.api_call(
        "chat.postMessage",
        data={
            "channel": "C1",
            "text": "form",
            "blocks": '[{"type": "divider"}]',
            "metadata": '{"event_type": "x", "event_payload": {"n": 1}}',
        },
    )

    call = double.of("chat.postMessage")[0]
    assert call.body["blocks"] == [{"type": "divider"}]
    assert double.messages("C1")[0]["metadata"] == {"event_type": "x", "event_payload": {"n": 1}}
