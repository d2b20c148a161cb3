"""Owner verification through the running Slack app and the Slack double: one reminder per
due document, across restarts and two app instances; the owner's three answers."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.conftest import doc
from tests.slack_double import dm_channel
from tests.slack_harness import all_text, block_action, mention, start_app

TODAY = date.today()
PAST = (TODAY - timedelta(days=40)).isoformat()
LATER = (TODAY + timedelta(days=300)).isoformat()


@pytest.fixture()
def kb(cli, write, tmp_path):
    write("cards.md", doc("Model cards", "Every model ships with a model card <!channel>.",
                          owner="Priya Raman", owner_slack="U0PRIYA", review_by=PAST,
                          review_every="90"))  # fmt: skip
    write("keys.md", doc("Release keys", "Release keys are rotated yearly.",
                         owner="Kofi Mensah", review_by=PAST))  # fmt: skip
    write("rota.md", doc("Evaluation rota", "The rota hands over on Thursdays.",
                         owner="Ines Park", owner_slack="U0INES", review_by=LATER))  # fmt: skip
    data = tmp_path / "index"
    assert cli("ingest", str(write.root), "--data-dir", str(data)).exit_code == 0
    return data


def _start(kb, double, tmp_path):
    return start_app(kb, double.url, tmp_path / "db", COE_TRIAGE_CHANNEL_ID="CTRIAGE")


def _reminders(double) -> list:
    return [c for c in double.of("chat.postMessage") if c.body.get("channel", "").startswith("U")]


def test_a_due_document_gets_one_reminder_across_restarts_and_two_instances(kb, double, tmp_path):
    first, second = _start(kb, double, tmp_path), _start(kb, double, tmp_path)
    try:
        first.slack._hourly_chores()  # the scheduled check, as `coe serve` runs it
        double.wait_for("chat.postMessage", channel="U0PRIYA")
        second.slack._hourly_chores()  # claimed for the period: nothing
        assert second.slack.reviews is not None
        assert second.slack.reviews.queue_due() == 0  # and queued once, ever
    finally:
        first.stop()
        second.stop()
    restarted = _start(kb, double, tmp_path)
    try:
        assert restarted.slack.reviews is not None
        assert restarted.slack.reviews.queue_due() == 0
    finally:
        restarted.stop()

    reminders = _reminders(double)
    assert [c.body["channel"] for c in reminders] == ["U0PRIYA"]  # Kofi has no Slack id mapped
    text = all_text(reminders[0].body["blocks"])
    assert "Model cards" in text and f"was due for review on {PAST}" in text
    assert "<!channel>" not in text


@pytest.fixture()
def reminded(kb, double, tmp_path):
    app = _start(kb, double, tmp_path)
    assert app.slack.reviews is not None
    assert app.slack.reviews.queue_due() == 1
    double.wait_for("chat.postMessage", channel="U0PRIYA")
    yield app
    app.stop()


def _dm_ts(double) -> str:
    messages = double._store.get(dm_channel("U0PRIYA"), [])
    assert messages, "the reminder is not in the owner's DM"
    return messages[-1]["ts"]


def _click(app, double, action: str) -> None:
    reminder = double.wait_for("chat.postMessage", channel="U0PRIYA")[0]
    key = reminder.body["blocks"][-1]["elements"][0]["value"]
    payload = block_action(
        action, key, user="U0PRIYA", channel=dm_channel("U0PRIYA"), message_ts=_dm_ts(double)
    )
    assert app.interaction(payload).status == 200


def test_still_accurate_extends_the_review_date_and_replaces_the_buttons(
    reminded, double, cli, tmp_path
):
    _click(reminded, double, "review_accurate")
    update = double.wait_for("chat.update", channel=dm_channel("U0PRIYA"))[-1]
    until = (TODAY + timedelta(days=90)).isoformat()
    assert f"next review on {until}" in all_text(update.body["blocks"])
    assert "review_accurate" not in json.dumps(update.body["blocks"])
    # The citation says so, in a channel answer and at the terminal.
    reminded.event(mention("What does every model ship with?", ts="1700000300.000100"))
    answer = double.wait_for("chat.postMessage", thread_ts="1700000300.000100")[-1]
    shown = all_text(answer.body["blocks"])
    line = next(ln for ln in shown.splitlines() if "Model cards" in ln and "—" in ln)
    assert f"verified by <@U0PRIYA> on {TODAY.isoformat()}" in line
    assert "review was due" not in line
    env = {"COE_DATABASE_URL": f"sqlite:///{tmp_path / 'db' / 'coe.db'}"}  # the app's database
    asked = cli.json(
        "ask", "What does every model ship with?", "--data-dir", str(tmp_path / "index"), env=env
    )
    cited = next(s for s in asked["sources"] if s["title"] == "Model cards")
    assert (cited["verified_by"], cited["stale"], cited["review_by"]) == ("U0PRIYA", False, until)
    due = cli("docs", "stale", "--json", "--data-dir", str(tmp_path / "index"), env=env)
    assert due.exit_code == 0, due.output
    assert "Model cards" not in [d["title"] for d in json.loads(due.stdout)]


def test_needs_an_update_asks_for_a_note_and_staff_get_it(reminded, double):
    _click(reminded, double, "review_needs_update")
    opened = double.wait_for("views.open")[-1]
    view = opened.body["view"]
    note = "The template link is dead <!here>; section 3 is out of date."
    submission = {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U0PRIYA", "username": "priya", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "team_id": "T1",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "hash": "1",
            "state": {
                "values": {"note": {"note_input": {"type": "plain_text_input", "value": note}}}
            },
        },
        "response_urls": [],
    }
    assert reminded.interaction(submission).status == 200
    staff = double.wait_for("chat.postMessage", channel="CTRIAGE")[-1]
    text = all_text(staff.body["blocks"])
    assert "needs an update" in text and "section 3 is out of date" in text
    assert "<!here>" not in text and "&lt;!here&gt;" in text
    assert "<@U0PRIYA>" in text


def test_not_mine_tells_staff_to_reassign(reminded, double):
    _click(reminded, double, "review_not_mine")
    staff = double.wait_for("chat.postMessage", channel="CTRIAGE")[-1]
    assert "please reassign" in all_text(staff.body["blocks"])
    update = double.wait_for("chat.update", channel=dm_channel("U0PRIYA"))[-1]
    assert "find its owner" in all_text(update.body["blocks"])


def test_coe_docs_notify_sends_what_is_due_once(cli, kb, double, tmp_path):
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": double.url,
        "COE_DATABASE_URL": f"sqlite:///{tmp_path / 'coe.db'}",
    }
    first = cli("docs", "notify", "--data-dir", str(kb), env=env)
    assert first.exit_code == 0, first.output
    assert "1 new reminder(s) sent; 0 message(s) still waiting" in first.output
    again = cli("docs", "notify", "--data-dir", str(kb), env=env)
    assert "0 new reminder(s) sent" in again.output
    assert [c.body["channel"] for c in _reminders(double)] == ["U0PRIYA"]


def test_the_reminder_says_how_the_document_was_used(kb, double, tmp_path):
    from bot.db.store import AnswerEntry

    app = _start(kb, double, tmp_path)
    try:
        store = app.store
        cited = store.record_answer(
            AnswerEntry("mention", "U7", "C1", None, "What ships with a model?",
                        answer="A model card.", source_doc_ids=("cards.md",))
        )  # fmt: skip
        store.record_feedback(cited, "U7", "positive")
        store.record_answer(
            AnswerEntry("mention", "U8", "C1", None, "Which model card template has <!here>?",
                        abstained=True)
        )  # fmt: skip
        assert app.slack.reviews is not None and app.slack.reviews.queue_due() == 1
        reminder = double.wait_for("chat.postMessage", channel="U0PRIYA")[0]
        text = all_text(reminder.body["blocks"])
        assert "cited once (:+1: 1 · :-1: 0)" in text
        assert "Which model card template has &lt;!here&gt;?" in text and "<!here>" not in text
    finally:
        app.stop()


def test_a_weekly_digest_lists_what_is_past_review_by_owner_once(kb, double, tmp_path):
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    other_day = _start(kb, double, tmp_path / "other")
    try:  # no digest but on its day
        assert other_day.slack.reviews is not None
        assert other_day.slack.reviews.post_digest() is False
    finally:
        other_day.stop()
    app = start_app(
        kb,
        double.url,
        tmp_path / "db",
        COE_TRIAGE_CHANNEL_ID="CTRIAGE",
        COE_REVIEW_DIGEST_DAY=weekdays[TODAY.weekday()],
    )
    try:
        assert app.slack.reviews is not None
        assert app.slack.reviews.post_digest() is True
        assert app.slack.reviews.post_digest() is False  # the same week: already posted
    finally:
        app.stop()
    posts = [c for c in double.of("chat.postMessage") if c.body.get("channel") == "CTRIAGE"]
    assert len(posts) == 1
    text = all_text(posts[0].body["blocks"])
    assert "2 document(s) past their review date, 3 never verified" in text
    assert "<@U0PRIYA>:" in text and "Model cards" in text
    assert "Kofi Mensah:" in text and "Release keys" in text


def test_an_owner_named_by_email_is_found_in_slack(cli, write, double, tmp_path):
    write("policy.md", doc("Vendor policy", "Vendors sign the AI addendum before any pilot.",
                           owner="Lee Okafor <Lee.Okafor@acme.com>", review_by=PAST))  # fmt: skip
    write("other.md", doc("Glossary", "A glossary of CoE terms.",
                          owner="nobody@acme.com", review_by=PAST))  # fmt: skip
    data = tmp_path / "index"
    assert cli("ingest", str(write.root), "--data-dir", str(data)).exit_code == 0
    double.users_by_email["lee.okafor@acme.com"] = "U0LEE"
    app = _start(data, double, tmp_path)
    try:
        assert app.slack.reviews is not None and app.slack.reviews.queue_due() == 1
    finally:
        app.stop()
    assert [c.body["channel"] for c in _reminders(double)] == ["U0LEE"]
    asked = [c.body["email"] for c in double.of("users.lookupByEmail")]
    assert sorted(asked) == ["lee.okafor@acme.com", "nobody@acme.com"]
