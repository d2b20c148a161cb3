"""The real Slack app over HTTP, signed requests shaped like Slack's, a recording Web API double."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest

from tests.conftest import doc
from tests.slack_harness import all_text, block_action, mention, message, posted_ts, start_app


@pytest.fixture()
def app(kb_data, double, tmp_path):
    running = start_app(kb_data, double.url, tmp_path / "db", COE_STAFF_USER_IDS="USTAFF")
    yield running
    running.stop()


def _posts(double, **match):
    return [
        c
        for c in double.of("chat.postMessage")
        if all(c.body.get(k) == v for k, v in match.items())
    ]


def test_a_mention_is_answered_in_its_thread_with_sources(app, double):
    reply = app.event(mention("Who owns red-teaming?", ts="1700000100.000100"))
    assert reply.status == 200
    post = double.wait_for("chat.postMessage", thread_ts="1700000100.000100")[0]
    assert post.body["channel"] == "C1"
    text = all_text(post.body["blocks"])
    assert "Priya Raman" in text
    assert "*Sources*" in text and "[1]" in text
    assert "<https://coe.example.com/kb/" in text
    assert any(b["type"] == "context_actions" for b in post.body["blocks"])  # feedback buttons
    assert "ask_expert" in json.dumps(post.body["blocks"])
    assert len(post.body["blocks"]) <= 50


def test_follow_ups_in_the_thread_need_no_mention_and_side_talk_is_left_alone(app, double):
    app.event(mention("How do we book a red-teaming exercise?", ts="1700000200.000100"))
    double.wait_for("chat.postMessage", thread_ts="1700000200.000100")
    app.event(
        message(
            "<@U2> can you take this one?", ts="1700000200.000300", thread_ts="1700000200.000100"
        )
    )
    app.event(
        message(
            "and how far ahead do we need to book it?",
            ts="1700000200.000200",
            thread_ts="1700000200.000100",
        )
    )
    posts = double.wait_for("chat.postMessage", count=2, thread_ts="1700000200.000100")
    time.sleep(0.5)
    assert len(_posts(double, thread_ts="1700000200.000100")) == 2
    follow_up = all_text(posts[1].body["blocks"])
    assert "working days" in follow_up or "book" in follow_up.lower()
    # A message in a thread the bot never joined is not for the bot.
    app.event(message("what about vendors?", ts="1700000299.000200", thread_ts="1700000299.000100"))
    time.sleep(0.5)
    assert _posts(double, thread_ts="1700000299.000100") == []


def test_a_direct_message_is_answered(app, double):
    app.event(
        message(
            "how do I get an API key for the model gateway?",
            ts="1700000300.000100",
            channel="D1",
            channel_type="im",
        )
    )
    post = double.wait_for("chat.postMessage", channel="D1")[0]
    assert "gateway" in all_text(post.body["blocks"]).lower()


def test_coe_checklist_lists_and_links_checklists(app, double):
    assert app.command("checklist", response_url=double.response_url("list")).status == 200
    listing = double.wait_for("response/list")[0].body
    text = all_text(listing["blocks"])
    assert "AI Feature Launch Readiness Checklist" in text
    assert "Vendor" in text
    app.command("checklist launch readiness", response_url=double.response_url("one"))
    one = double.wait_for("response/one")[0].body
    assert one["response_type"] == "ephemeral"
    text = all_text(one["blocks"])
    assert text.count("☐") >= 8
    assert "<https://coe.example.com/kb/ai-feature-launch-readiness|" in text
    app.command("checklist quantum teleportation", response_url=double.response_url("none"))
    assert "No checklist matches" in double.wait_for("response/none")[0].body["text"]


def test_coe_ask_and_help(app, double):
    app.command("ask Who owns red-teaming?", response_url=double.response_url("ask"))
    answer = double.wait_for("response/ask")[0].body
    assert "Priya Raman" in all_text(answer["blocks"])
    app.command("", response_url=double.response_url("help"))
    assert "/coe checklist" in all_text(double.wait_for("response/help")[0].body["blocks"])


def test_a_duplicate_delivery_is_answered_once_even_across_a_restart(kb_data, double, tmp_path):
    event = mention("Who owns red-teaming?", ts="1700000400.000100")
    first = start_app(kb_data, double.url, tmp_path / "db")
    try:
        first.event(event, event_id="EvDUP1")
        first.event(event, event_id="EvDUP1", retry_num=1)
        # Slack also sends a plain message event for the same message.
        first.event(
            message("<@UBOT> Who owns red-teaming?", ts="1700000400.000100"), event_id="EvDUP2"
        )
        double.wait_for("chat.postMessage", thread_ts="1700000400.000100")
    finally:
        first.stop()
    second = start_app(kb_data, double.url, tmp_path / "db")
    try:
        second.event(event, event_id="EvDUP1", retry_num=2)
        time.sleep(1.0)
    finally:
        second.stop()
    assert len(_posts(double, thread_ts="1700000400.000100")) == 1


def test_bad_or_missing_signatures_are_refused(app, double):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvBAD",
            "event": mention("Who owns red-teaming?", ts="1700000500.000100"),
        }
    )
    assert app.post(body, "application/json", signature="v0=" + "0" * 64).status == 401
    old = str(int(time.time()) - 3600)
    assert app.post(body, "application/json", timestamp=old).status == 401
    time.sleep(0.5)
    assert _posts(double, thread_ts="1700000500.000100") == []


def test_hostile_mrkdwn_in_a_question_is_inert(app, double):
    app.event(
        mention(
            "<!channel> <!here> ask <@U999> about <https://evil.example|the launch standard>",
            ts="1700000600.000100",
        )
    )
    post = double.wait_for("chat.postMessage", thread_ts="1700000600.000100")[0]
    text = all_text(post.body["blocks"]) + post.body.get("text", "")
    for live in ("<!channel>", "<!here>", "<@U999>", "<https://evil.example"):
        assert live not in text


def test_hostile_mrkdwn_in_a_document_is_inert(cli, write, double, tmp_path):
    write(
        "hostile.md",
        doc(
            "<!here> Widget <https://evil.example|guide>",
            "The hostile widget is calibrated every Tuesday by <@U999> and <!channel>.",
            owner="<!everyone> Mallory",
            url="https://coe.example.com/kb/widget",
        ),
    )
    data = tmp_path / "kb"
    assert cli("ingest", str(write.root), "--data-dir", str(data)).exit_code == 0
    app = start_app(data, double.url, tmp_path / "db")
    try:
        app.event(mention("how often is the hostile widget calibrated?", ts="1700000700.000100"))
        post = double.wait_for("chat.postMessage", thread_ts="1700000700.000100")[0]
    finally:
        app.stop()
    text = all_text(post.body["blocks"])
    assert "calibrated every Tuesday" in text
    for live in ("<!here>", "<!channel>", "<!everyone>", "<@U999>", "<https://evil.example"):
        assert live not in text
    assert "&lt;!here&gt;" in text and "&lt;@U999&gt;" in text


STAFF_DOC = "vendors/vendor-negotiation-notes.md"
STAFF_QUESTION = "what discount tiers and renewal dates do we have with model vendors?"


def _cited_docs(post) -> str:
    return all_text(post.body["blocks"])


def test_staff_only_documents_stay_out_of_channels_and_non_staff_dms(app, double):
    app.event(mention(STAFF_QUESTION, ts="1700000800.000100", user="USTAFF"))
    in_channel = double.wait_for("chat.postMessage", thread_ts="1700000800.000100")[0]
    assert "vendor-negotiation-notes" not in _cited_docs(in_channel)
    app.event(
        message(STAFF_QUESTION, ts="1700000800.000200", user="U1", channel="D2", channel_type="im")
    )
    other_dm = double.wait_for("chat.postMessage", channel="D2")[0]
    assert "vendor-negotiation-notes" not in _cited_docs(other_dm)
    app.event(
        message(
            STAFF_QUESTION, ts="1700000800.000300", user="USTAFF", channel="D3", channel_type="im"
        )
    )
    staff_dm = double.wait_for("chat.postMessage", channel="D3")[0]
    assert "vendor-negotiation-notes" in _cited_docs(staff_dm)
    # Members of the staff user group count too.
    app.event(
        message(
            STAFF_QUESTION,
            ts="1700000800.000400",
            user="UGROUPSTAFF",
            channel="D4",
            channel_type="im",
        )
    )
    assert "vendor-negotiation-notes" not in _cited_docs(
        double.wait_for("chat.postMessage", channel="D4")[0]
    )


def test_staff_user_group_members_see_staff_documents_in_their_dm(kb_data, double, tmp_path):
    app = start_app(kb_data, double.url, tmp_path / "db", COE_STAFF_USERGROUP_ID="S123")
    try:
        app.event(
            message(
                STAFF_QUESTION,
                ts="1700000850.000100",
                user="UGROUPSTAFF",
                channel="D5",
                channel_type="im",
            )
        )
        post = double.wait_for("chat.postMessage", channel="D5")[0]
    finally:
        app.stop()
    assert "vendor-negotiation-notes" in _cited_docs(post)
    assert double.of("usergroups.users.list")[0].body["usergroup"] == "S123"


def test_an_abstention_says_what_was_searched_and_offers_an_expert(app, double):
    app.event(mention("What is the capital of Australia?", ts="1700000900.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700000900.000100")[0]
    text = all_text(post.body["blocks"])
    assert "does not cover this" in text
    assert "Searched" in text and "capital of Australia" in text
    button = next(e for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "ask_expert" and button["text"]["text"] == "Ask a CoE expert"
    app.interaction(block_action("ask_expert", button["value"]))
    modal = double.wait_for("views.open")[0].body["view"]
    assert modal["callback_id"] == "consult_submit"
    assert "capital of Australia" in json.loads(modal["private_metadata"])["question"]


def test_a_429_from_slack_is_retried_after_retry_after(app, double):
    double.fail("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    app.event(mention("Who owns red-teaming?", ts="1700001000.000100"))
    double.wait_for("chat.postMessage", count=2, thread_ts="1700001000.000100")
    assert time.monotonic() - started >= 1.0
    assert len(_posts(double, thread_ts="1700001000.000100")) == 2  # the refused try and the retry


def test_an_internal_failure_becomes_an_error_reply_with_a_reference(
    cli, write, double, tmp_path, caplog
):
    write("one.md", doc("Intake", "Requests to the CoE are answered within one working day."))
    data = tmp_path / "kb"
    cli("ingest", str(write.root), "--data-dir", str(data))
    app = start_app(data, double.url, tmp_path / "db")
    try:
        # The index on disk breaks while the app runs: it notices on the next question.
        (data / "index" / "CURRENT").write_text("g999999")
        with caplog.at_level(logging.ERROR):
            app.event(mention("how fast does the CoE answer requests?", ts="1700001100.000100"))
            post = double.wait_for("chat.postMessage", thread_ts="1700001100.000100")[0]
    finally:
        app.stop()
    text = all_text(post.body["blocks"])
    reference = re.search(r"reference `([A-Z0-9]{8})`", text).group(1)
    assert "something went wrong" in text
    assert reference in caplog.text
    assert app.store.answer(reference).failed is True


def test_feedback_is_recorded_with_who_and_when(app, double):
    app.event(mention("Who owns red-teaming?", ts="1700001200.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700001200.000100")[0]
    buttons = next(b for b in post.body["blocks"] if b["type"] == "context_actions")["elements"][0]
    negative = buttons["negative_button"]["value"]
    reference = negative.split(":")[1]
    message_ts = posted_ts(app.store, reference)
    app.interaction(block_action("answer_feedback", negative, user="U7", message_ts=message_ts))
    double.wait_for("chat.postEphemeral", user="U7")
    recorded = app.store.feedback_for(reference)
    assert [(f.user_id, f.value) for f in recorded] == [("U7", "negative")]
    assert recorded[0].created_at is not None

    # The same button value replayed from another channel is refused and records nothing.
    app.interaction(
        block_action("answer_feedback", negative, user="U8", channel="C2", message_ts=message_ts)
    )
    refusal = double.wait_for("chat.postEphemeral", user="U8")[0]
    assert "could not record" in refusal.body["text"]
    assert len(app.store.feedback_for(reference)) == 1


def test_a_flood_from_one_user_is_answered_politely(kb_data, double, tmp_path):
    app = start_app(kb_data, double.url, tmp_path / "db", COE_RATE_LIMIT_PER_MINUTE="2")
    try:
        for n in range(3):
            app.event(mention("Who owns red-teaming?", ts=f"1700001300.00010{n}", user="UFLOOD"))
        posts = double.wait_for("chat.postMessage", count=3)
    finally:
        app.stop()
    texts = [p.body["text"] for p in posts]
    assert sum("my limit per person" in t for t in texts) == 1


def test_the_assistant_pane_suggests_prompts_shows_status_and_answers(app, double):
    app.event(
        {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": "U1",
                "context": {"channel_id": "C1", "team_id": "T1"},
                "channel_id": "D9",
                "thread_ts": "1700001400.000100",
            },
            "event_ts": "1700001400.000101",
        }
    )
    prompts = double.wait_for("assistant.threads.setSuggestedPrompts")[0].body
    assert prompts["channel_id"] == "D9" and len(prompts["prompts"]) >= 3
    app.event(
        message(
            "Who owns red-teaming?",
            ts="1700001400.000200",
            channel="D9",
            channel_type="im",
            thread_ts="1700001400.000100",
        )
    )
    status = double.wait_for("assistant.threads.setStatus")[0].body
    assert status["status"] == "searching the knowledge base…"
    greeting, post = double.wait_for(
        "chat.postMessage", count=2, channel="D9", thread_ts="1700001400.000100"
    )[:2]
    assert "Ask me about" in greeting.body["text"]
    assert "Priya Raman" in all_text(post.body["blocks"])


def test_the_message_shortcut_answers_in_the_message_thread(app, double):
    app.interaction(
        {
            "type": "message_action",
            "callback_id": "ask_coe_about_message",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "team": {"id": "T1", "domain": "acme"},
            "user": {"id": "U1", "name": "someone"},
            "channel": {"id": "C1", "name": "general"},
            "message": {
                "type": "message",
                "user": "U2",
                "ts": "1700001500.000100",
                "text": "does anyone know who owns red-teaming here?",
            },
            "response_url": double.response_url("shortcut"),
            "action_ts": str(time.time()),
        }
    )
    post = double.wait_for("chat.postMessage", thread_ts="1700001500.000100")[0]
    assert "Priya Raman" in all_text(post.body["blocks"])


def test_healthz_is_minimal_and_readyz_checks_index_database_and_search(app):
    import urllib.request

    with urllib.request.urlopen(f"{app.url}/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"ok": True}
    with urllib.request.urlopen(f"{app.url}/readyz", timeout=10) as response:
        ready = json.loads(response.read())
    assert ready == {
        "ready": True,
        "checks": {"index": "ok", "database": "ok", "search": "ok", "accepting": "ok"},
    }
