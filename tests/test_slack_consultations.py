"""Consultation requests through the running Slack app: intake, triage, App Home, SLA, outages."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.slack_harness import all_text, block_action, mention, start_app

TRIAGE = "CTRIAGE"


@pytest.fixture()
def app(kb_data, double, tmp_path):
    running = start_app(
        kb_data,
        double.url,
        tmp_path / "db",
        COE_STAFF_USER_IDS="USTAFF,USTAFF2",
        COE_TRIAGE_CHANNEL_ID=TRIAGE,
    )
    yield running
    running.stop()


def _field(value: str) -> dict:
    return {"value": {"type": "plain_text_input", "value": value}}


def _choice(value: str | None) -> dict:
    option = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
    return {"value": {"type": "static_select", "selected_option": option}}


def submission(
    view_id: str = "V100", user: str = "U1", metadata: dict | None = None, **overrides
) -> dict:
    values = {
        "title": _field(overrides.get("title", "Review our support assistant before launch")),
        "team": _field(overrides.get("team", "Payments")),
        "type": _choice(overrides.get("type", "launch-readiness")),
        "urgency": _choice(overrides.get("urgency", "high")),
        "description": _field(
            overrides.get(
                "description", "We launch a support assistant on 15 January and need a review."
            )
        ),
        "links": _field(overrides.get("links", "https://docs.example.com/design")),
    }
    return {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "view": {
            "id": view_id,
            "team_id": "T1",
            "type": "modal",
            "callback_id": "consult_submit",
            "private_metadata": json.dumps(metadata or {}),
            "hash": "1700000000.abc",
            "title": {"type": "plain_text", "text": "Ask a CoE expert"},
            "state": {"values": values},
        },
        "response_urls": [],
    }


def _submit(app, double, **kwargs) -> dict:
    reply = app.interaction(submission(**kwargs))
    assert reply.status == 200 and reply.body == ""
    card = double.wait_for("chat.postMessage", channel=TRIAGE)[-1].body
    # The card's ts is recorded just after Slack answers: wait for it, as a click would.
    deadline = time.monotonic() + 10
    while not all(r.posted for r in app.slack.consultations.list()):
        assert time.monotonic() < deadline, "the card was posted but never recorded"
        time.sleep(0.02)
    return card


def _triage_action(app, action_id: str, request_id: int, user: str, **action) -> None:
    """Clicks a triage control and waits until the change has been applied."""
    before = len(app.slack.consultations.get(request_id).history)
    payload = block_action(action_id, str(request_id), user=user, channel=TRIAGE)
    payload["actions"][0].update({"block_id": f"triage:{request_id}", **action})
    assert app.interaction(payload).status == 200
    if action_id == "triage_note" or not app.slack.consultations.is_staff(user):
        return  # opens a modal, or is refused: the history does not change
    deadline = time.monotonic() + 10
    while len(app.slack.consultations.get(request_id).history) == before:
        assert time.monotonic() < deadline, f"{action_id} was not applied"
        time.sleep(0.02)


def test_the_modal_opens_from_the_command_the_answer_button_and_the_shortcut(app, double):
    app.command("consult Need a vendor review")
    opened = double.wait_for("views.open")[0].body
    assert opened["view"]["callback_id"] == "consult_submit"
    assert opened["view"]["blocks"][0]["element"]["initial_value"] == "Need a vendor review"

    app.event(mention("Who owns red-teaming?", ts="1700002000.000100"))
    answer = double.wait_for("chat.postMessage", thread_ts="1700002000.000100")[0].body
    reference = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"])[
        "value"
    ]
    app.interaction(block_action("ask_expert", reference))
    from_answer = double.wait_for("views.open", count=2)[1].body["view"]
    context = json.loads(from_answer["private_metadata"])
    assert context["question"] == "Who owns red-teaming?"
    assert "Priya Raman" in context["answer"]
    assert any("red-teaming" in s or "responsible-ai" in s for s in context["sources"])
    assert "Your question:" in all_text(from_answer["blocks"])

    app.interaction(
        {
            "type": "message_action",
            "callback_id": "consult_from_message",
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "channel": {"id": "C1", "name": "general"},
            "message": {
                "type": "message",
                "user": "U2",
                "ts": "1700002100.000100",
                "text": "our bot leaks order numbers, can someone look?",
            },
            "response_url": double.response_url("s"),
            "action_ts": "1",
        }
    )
    from_message = double.wait_for("views.open", count=3)[2].body["view"]
    context = json.loads(from_message["private_metadata"])
    assert context["permalink"] == "https://acme.slack.com/archives/C1/p1700002100000100"
    assert context["question"] == "our bot leaks order numbers, can someone look?"


def test_an_invalid_submission_is_answered_with_field_errors(app, double):
    reply = app.interaction(
        submission(title="Hi", description="short", links="not a link", type=None)
    )
    errors = json.loads(reply.body)
    assert errors["response_action"] == "errors"
    assert set(errors["errors"]) == {"title", "description", "links", "type"}
    assert "at least 5 characters" in errors["errors"]["title"]
    assert "https://" in errors["errors"]["links"]
    time.sleep(0.3)
    assert app.slack.consultations.total() == 0


def test_a_valid_submission_is_stored_posted_and_confirmed_once(app, double):
    triage = _submit(
        app, double, description="<!channel> please look at this <https://evil.example|now>"
    )
    request = app.slack.consultations.list()[0]
    assert request.posted and request.triage_channel_id == TRIAGE
    text = all_text(triage["blocks"])
    assert request.public_id in text and "Launch readiness" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example" not in text
    dm = double.wait_for("chat.postMessage", channel="U1")[0].body
    assert request.public_id in dm["text"] and "one working day" in dm["text"]
    # The same view submitted again (double click, or Slack retrying) changes nothing.
    app.interaction(submission())
    time.sleep(0.5)
    assert app.slack.consultations.total() == 1
    assert len(double.of("chat.postMessage")) == 2


def test_staff_triage_updates_the_card_tells_the_requester_and_keeps_history(app, double):
    _submit(app, double)
    request = app.slack.consultations.list()[0]
    _triage_action(app, "triage_assign_me", request.id, "USTAFF")
    update = double.wait_for("chat.update")[0].body
    assert update["channel"] == TRIAGE and update["ts"] == request.triage_ts
    assert "<@USTAFF>" in all_text(update["blocks"])
    _triage_action(
        app,
        "triage_status",
        request.id,
        "USTAFF2",
        type="static_select",
        selected_option={
            "value": "in-progress",
            "text": {"type": "plain_text", "text": "In progress"},
        },
    )
    _triage_action(
        app, "triage_assign", request.id, "USTAFF2", type="users_select", selected_user="USTAFF2"
    )
    _triage_action(
        app,
        "triage_priority",
        request.id,
        "USTAFF2",
        type="static_select",
        selected_option={"value": "P1", "text": {"type": "plain_text", "text": "P1"}},
    )
    _triage_action(app, "triage_note", request.id, "USTAFF")
    note_modal = double.wait_for("views.open")[0].body["view"]
    app.interaction(
        {
            "type": "view_submission",
            "team": {"id": "T1"},
            "user": {"id": "USTAFF"},
            "api_app_id": "A1",
            "token": "t",
            "trigger_id": "x",
            "view": {
                "id": "VNOTE",
                "type": "modal",
                "callback_id": note_modal["callback_id"],
                "private_metadata": note_modal["private_metadata"],
                "hash": "h",
                "state": {
                    "values": {
                        "note": {
                            "value": {
                                "type": "plain_text_input",
                                "value": "Design review booked for Thursday.",
                            }
                        }
                    }
                },
            },
        }
    )
    threaded = double.wait_for("chat.postMessage", channel=TRIAGE, thread_ts=request.triage_ts)[
        0
    ].body
    assert "Design review booked" in threaded["text"]
    dms = double.wait_for("chat.postMessage", count=6, channel="U1")
    said = " ".join(d.body["text"] for d in dms)
    assert "picked it up" in said and "In progress" in said and "Design review booked" in said
    assert "priority set to P1" in said
    final = app.slack.consultations.get(request.public_id)
    assert final.assignee_id == "USTAFF2" and final.status.value == "in-progress"
    assert final.priority.value == "P1"
    assert [(h.kind, h.actor_id) for h in final.history] == [
        ("created", "U1"),
        ("assigned", "USTAFF"),
        ("status", "USTAFF2"),
        ("assigned", "USTAFF2"),
        ("priority", "USTAFF2"),
        ("note", "USTAFF"),
    ]


def test_non_staff_cannot_triage(app, double):
    _submit(app, double)
    request = app.slack.consultations.list()[0]
    _triage_action(app, "triage_assign_me", request.id, "U1")
    refusal = double.wait_for("chat.postEphemeral")[0].body
    assert refusal["user"] == "U1" and "Only CoE staff" in refusal["text"]
    _triage_action(app, "triage_note", request.id, "U1")
    double.wait_for("chat.postEphemeral", count=2)
    assert double.of("views.open") == []
    assert app.slack.consultations.get(request.public_id).assignee_id is None
    assert double.of("chat.update") == []


def test_app_home_shows_own_requests_and_the_staff_queue(app, double):
    _submit(app, double)
    app.event(
        {
            "type": "app_home_opened",
            "user": "U1",
            "channel": "D1",
            "tab": "home",
            "event_ts": "1700003000.000100",
        }
    )
    home = double.wait_for("views.publish", user_id="U1")[0].body["view"]
    text = all_text(home["blocks"])
    assert "Your requests" in text and "CR-0001" in text and "CoE queue" not in text
    app.event(
        {
            "type": "app_home_opened",
            "user": "USTAFF",
            "channel": "D2",
            "tab": "home",
            "event_ts": "1700003000.000200",
        }
    )
    staff_home = double.wait_for("views.publish", user_id="USTAFF")[0].body["view"]
    text = all_text(staff_home["blocks"])
    assert "CoE queue" in text and "1* unassigned" in text and "CR-0001" in text
    assert len(staff_home["blocks"]) <= 100
    app.interaction(block_action("home_filter_mine", "mine", user="USTAFF"))
    mine = double.wait_for("views.publish", count=2, user_id="USTAFF")[1].body["view"]
    assert "Nothing here." in all_text(mine["blocks"])


def test_the_sla_reminder_is_sent_once_across_replicas(app, double, kb_data, tmp_path):
    _submit(app, double)
    with app.store.session() as session:
        session.execute(
            text("UPDATE consultation_requests SET created_at = :t"),
            {"t": datetime.now(UTC) - timedelta(days=7)},
        )
    replica = start_app(
        kb_data,
        double.url,
        tmp_path / "db",
        COE_STAFF_USER_IDS="USTAFF",
        COE_TRIAGE_CHANNEL_ID=TRIAGE,
    )
    try:
        sent = [
            app.slack.notifier.send_sla_reminders(),
            replica.slack.notifier.send_sla_reminders(),
            app.slack.notifier.send_sla_reminders(),
        ]
    finally:
        replica.stop()
    assert sent == [1, 0, 0]
    reminders = [
        c
        for c in double.of("chat.postMessage")
        if "first-response target" in c.body.get("text", "")
    ]
    assert len(reminders) == 1 and reminders[0].body["channel"] == TRIAGE


def test_a_slack_outage_loses_nothing_and_the_repost_delivers(app, double, cli, tmp_path):
    double.fail("chat.postMessage", status=500, times=1)  # the triage card, posted first
    app.interaction(submission(view_id="VOUT"))
    double.wait_for(
        "chat.postMessage", channel="U1"
    )  # the confirmation still reaches the requester
    request = app.slack.consultations.list()[0]
    assert not request.posted and "internal_error" in (request.post_error or "")
    result = cli(
        "requests",
        "repost",
        env={
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": double.url,
            "COE_DATA_DIR": str(tmp_path / "db"),
            "COE_TRIAGE_CHANNEL_ID": TRIAGE,
        },
    )
    assert result.exit_code == 0, result.output
    assert "Reposted 1 request" in result.stdout
    assert app.slack.consultations.get(request.public_id).posted
    listed = cli.json("requests", "list", env={"COE_DATA_DIR": str(tmp_path / "db")})
    assert [r["public_id"] for r in listed] == [request.public_id]
    assert listed[0]["title"] == "Review our support assistant before launch"
