"""Forged or misplaced clicks and commands are refused from the server's own records, and
change nothing: ending someone else's workshop, another person's "Ask a CoE expert", ticking
another channel's checklist run."""

from __future__ import annotations

import pytest

from tests.conftest import doc
from tests.slack_harness import block_action, mention, message, start_app
from tests.test_slack_enablement import CHECKLIST, _start_run, _tick


@pytest.fixture()
def app(kb_data, double, tmp_path):
    running = start_app(kb_data, double.url, tmp_path / "db", COE_STAFF_USER_IDS="USTAFF")
    yield running
    running.stop()


def test_only_the_trainer_or_staff_can_end_a_workshop(app, double):
    app.command('workshop start "Prompting 101"', user="UTRAINER", channel="C5")
    double.wait_for("chat.postMessage", channel="C5")
    app.command(
        "workshop end", user="UATTENDEE", channel="C5", response_url=double.response_url("a")
    )
    refusal = double.wait_for("response/a")[0].body["text"]
    assert "only the trainer" in refusal.lower()
    assert app.slack.workshops.active("C5") is not None  # still running
    assert not double.of("chat.postMessage")[1:]  # no summary went anywhere

    app.command("workshop end", user="USTAFF", channel="C5", response_url=double.response_url("s"))
    double.wait_for("response/s")
    assert app.slack.workshops.active("C5") is None
    summaries = [c.body["channel"] for c in double.of("chat.postMessage")[1:]]
    assert sorted(summaries) == ["USTAFF", "UTRAINER"]


def test_ask_a_coe_expert_opens_the_pre_filled_form_only_for_the_asker(app, double):
    app.event(
        message(
            "Who owns red-teaming?",
            ts="1700050000.000100",
            user="U1",
            channel="D1",
            channel_type="im",
        )
    )
    answer = double.wait_for("chat.postMessage", channel="D1")[0].body
    expert = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ask_expert"
    )
    # Someone else replays the button's value (another person's private DM answer).
    app.interaction(block_action("ask_expert", expert["value"], user="U2", channel="D2"))
    refusal = double.wait_for("chat.postEphemeral", user="U2")[0].body
    assert "only they can use it" in refusal["text"]
    assert not double.of("views.open")

    app.interaction(block_action("ask_expert", expert["value"], user="U1", channel="D1"))
    view = double.wait_for("views.open")[0].body["view"]
    assert "Who owns red-teaming?" in str(view)


def test_a_checklist_run_is_ticked_only_from_its_own_channel(cli, write, double, tmp_path):
    write("launch.md", doc("Team launch checklist", CHECKLIST, type="checklist"))
    data = tmp_path / "kb"
    cli("ingest", str(write.root), "--data-dir", str(data))
    app = start_app(data, double.url, tmp_path / "db")
    try:
        run = _start_run(app, double, "team launch")  # in C1
        forged = _forge_tick(run, channel="C2")
        assert app.interaction(forged).status == 200
        refusal = double.wait_for("chat.postEphemeral", channel="C2")[0].body
        assert "does not belong to this channel" in refusal["text"]
        garbage = _forge_tick(run, channel="C1", block_id="run:x:0:0")
        app.interaction(garbage)
        double.wait_for("chat.postEphemeral", count=2)
        assert app.slack.runs.all()[0].done == set()
        assert not double.of("chat.update")

        _tick(app, run, 0, ["0.0"], user="U1")  # from its own channel it works
        double.wait_for("chat.update")
        assert app.slack.runs.all()[0].done == {"0.0"}
    finally:
        app.stop()


def _forge_tick(run_message: dict, channel: str, block_id: str | None = None) -> dict:
    block = next(b for b in run_message["blocks"] if b["type"] == "actions")
    payload = block_action("checklist_tick", "", user="U9", channel=channel)
    payload["actions"][0] = {
        "action_id": "checklist_tick",
        "block_id": block_id or block["block_id"],
        "type": "checkboxes",
        "selected_options": block["elements"][0]["options"],
        "action_ts": "1",
    }
    return payload


def test_feedback_on_a_dm_answer_counts_only_from_its_asker(app, double):
    app.event(
        message(
            "Who owns red-teaming?",
            ts="1700050100.000100",
            user="U1",
            channel="D1",
            channel_type="im",
        )
    )
    answer = double.wait_for("chat.postMessage", channel="D1")[0].body
    value = next(b for b in answer["blocks"] if b["type"] == "context_actions")["elements"][0][
        "positive_button"
    ]["value"]
    from tests.slack_harness import posted_ts

    ts = posted_ts(app.store, value.split(":")[1])
    app.interaction(block_action("answer_feedback", value, user="U2", channel="D1", message_ts=ts))
    double.wait_for("chat.postEphemeral", user="U2")
    assert app.store.feedback_for(value.split(":")[1]) == []
    app.interaction(block_action("answer_feedback", value, user="U1", channel="D1", message_ts=ts))
    double.wait_for("chat.postEphemeral", user="U1")
    assert [f.user_id for f in app.store.feedback_for(value.split(":")[1])] == ["U1"]


def test_mention_answers_carry_their_reply_key_for_duplicate_checks(app, double):
    app.event(mention("Who owns red-teaming?", ts="1700050200.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700050200.000100")[0].body
    metadata = post["metadata"]
    metadata = metadata if isinstance(metadata, dict) else __import__("json").loads(metadata)
    assert metadata["event_type"] == "coe_delivery"
    assert metadata["event_payload"]["key"].startswith("answer:")
