"""Checklist runs, training, workshops, staff figures and the impact report, through Slack."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from bot.consultations.models import Status
from tests.conftest import doc
from tests.slack_harness import all_text, block_action, mention, posted_ts, start_app
from tests.test_slack_consultations import submission

CHECKLIST = """## Before launch

- [ ] Evaluation passed at the tier's thresholds
- [ ] Model card published
- [ ] Red-team findings closed

## After launch

- [ ] Monitoring dashboard live
"""


@pytest.fixture()
def app(kb_data, double, tmp_path):
    running = start_app(
        kb_data,
        double.url,
        tmp_path / "db",
        COE_STAFF_USER_IDS="USTAFF",
        COE_TRIAGE_CHANNEL_ID="CTRIAGE",
    )
    yield running
    running.stop()


def _tick(app, run_message: dict, block_index: int, values: list[str], user: str) -> None:
    block = [b for b in run_message["blocks"] if b["type"] == "actions"][block_index]
    options = block["elements"][0]["options"]
    payload = block_action("checklist_tick", "", user=user, message_ts="1700009999.000100")
    payload["actions"][0] = {
        "action_id": "checklist_tick",
        "block_id": block["block_id"],
        "type": "checkboxes",
        "selected_options": [o for o in options if o["value"] in values],
        "action_ts": "1",
    }
    assert app.interaction(payload).status == 200


def _start_run(app, double, name: str) -> dict:
    app.command(f"checklist {name}", response_url=double.response_url("cl"))
    shown = double.wait_for("response/cl")[-1].body
    start = next(
        e
        for b in shown["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "checklist_start"
    )
    app.interaction(block_action("checklist_start", start["value"], user="U1"))
    return double.wait_for("chat.postMessage", channel="C1")[-1].body


def test_a_checklist_run_is_ticked_by_two_people_and_progress_updates_in_place(
    cli, write, double, tmp_path
):
    write("launch.md", doc("Team launch checklist", CHECKLIST, type="checklist"))
    data = tmp_path / "kb"
    cli("ingest", str(write.root), "--data-dir", str(data))
    app = start_app(data, double.url, tmp_path / "db")
    try:
        run = _start_run(app, double, "team launch")
        assert "0 of 4 done" in all_text(run["blocks"])
        _tick(app, run, 0, ["0.0", "0.1"], user="U1")
        first = double.wait_for("chat.update")[0].body
        assert "2 of 4 done" in all_text(first["blocks"])
        _tick(app, first, 1, ["1.0"], user="U2")
        second = double.wait_for("chat.update", count=2)[1].body
        assert "3 of 4 done" in all_text(second["blocks"])
        _tick(app, second, 0, ["0.0"], user="U2")  # U2 unticks "Model card published"
        third = double.wait_for("chat.update", count=3)[2].body
        assert "2 of 4 done" in all_text(third["blocks"])
        state = app.slack.runs.all()[0]
        assert state.done == {"0.0", "1.0"}
        assert state.ticked_by == {"0.0": "U1", "1.0": "U2"}

        # The document changes: the run keeps its version and says so.
        write(
            "launch.md",
            doc(
                "Team launch checklist", CHECKLIST + "- [ ] Rollback rehearsed\n", type="checklist"
            ),
        )
        cli("ingest", str(write.root), "--data-dir", str(data))
        _tick(app, third, 1, ["1.0"], user="U1")
        fourth = double.wait_for("chat.update", count=4)[3].body
        text = all_text(fourth["blocks"])
        assert "has changed since this run started" in text and "of 4 done" in text
    finally:
        app.stop()


def test_training_lists_upcoming_sessions_with_materials(app, double):
    from datetime import datetime

    app.command("training", response_url=double.response_url("t"))
    text = all_text(double.wait_for("response/t")[0].body["blocks"])
    shown = [
        datetime.strptime(d, "%d %b %Y").date()
        for d in re.findall(r"\*\w{3} (\d{2} \w{3} \d{4})\*", text)
    ]
    assert shown and shown == sorted(shown)
    assert all(day >= date.today() for day in shown)
    assert "<https://coe.example.com/training/" in text


def test_a_workshop_tags_questions_and_the_trainer_gets_a_summary(app, double):
    app.command(
        'workshop start "Red-teaming basics"',
        user="UTRAINER",
        channel="C5",
        response_url=double.response_url("w1"),
    )
    welcome = double.wait_for("chat.postMessage", channel="C5")[0].body
    assert "Red-teaming basics" in welcome["text"] and "<@UTRAINER>" in all_text(welcome["blocks"])
    app.event(mention("Who owns red-teaming?", ts="1700006000.000100", channel="C5", user="UA"))
    app.event(
        mention(
            "What is the capital of Australia?", ts="1700006000.000200", channel="C5", user="UB"
        )
    )
    app.event(
        mention("Who owns red-teaming?", ts="1700006000.000300", channel="C6", user="UC")
    )  # elsewhere
    double.wait_for("chat.postMessage", count=3, channel="C5")
    double.wait_for("chat.postMessage", channel="C6")
    app.command(
        "workshop end", user="UTRAINER", channel="C5", response_url=double.response_url("w2")
    )
    summary = double.wait_for("chat.postMessage", channel="UTRAINER")[0].body
    text = all_text(summary["blocks"])
    assert "2 questions: 1 answered, 1 not in the knowledge base" in text
    assert "capital of Australia" in text
    app.command(
        "workshop end", user="UTRAINER", channel="C5", response_url=double.response_url("w3")
    )
    assert "No workshop is running" in double.wait_for("response/w3")[0].body["text"]


def test_stats_are_for_staff_only(app, double):
    app.event(mention("Who owns red-teaming?", ts="1700007000.000100"))
    double.wait_for("chat.postMessage", thread_ts="1700007000.000100")
    app.command("stats", user="U1", response_url=double.response_url("s1"))
    assert "for CoE staff" in double.wait_for("response/s1")[0].body["text"]
    app.command("stats", user="USTAFF", response_url=double.response_url("s2"))
    text = all_text(double.wait_for("response/s2")[0].body["blocks"])
    assert "Questions: *1*" in text


def test_the_report_matches_what_was_recorded(app, double, cli, tmp_path):
    asked = [
        "Who owns red-teaming?",
        "How do I get an API key for the model gateway?",
        "What has to be in place before an AI feature launches?",
        "what's the weather gonna be in Lisbon tomorrow?",
        "will it rain in Lisbon tomorrow?",
    ]
    for n, question in enumerate(asked):
        app.event(mention(question, ts=f"1700008000.00010{n}", channel="C1" if n < 3 else "C2"))
    posts = double.wait_for("chat.postMessage", count=5)
    answered = next(p for p in posts if p.body.get("thread_ts") == "1700008000.000100").body
    ref = next(b for b in answered["blocks"] if b["type"] == "context_actions")["elements"][0]
    ts = posted_ts(app.store, ref["positive_button"]["value"].split(":")[1])
    for user, button in (("U3", "positive_button"), ("U4", "negative_button")):
        app.interaction(
            block_action("answer_feedback", ref[button]["value"], user=user, message_ts=ts)
        )
    double.wait_for("chat.postEphemeral", count=2)
    app.interaction(submission(view_id="VREP"))
    double.wait_for("chat.postMessage", channel="CTRIAGE")
    request = app.slack.consultations.list()[0]
    app.slack.consultations.assign(request.id, "USTAFF", "USTAFF")
    app.slack.consultations.set_status(request.id, "USTAFF", Status.RESOLVED)
    out = tmp_path / "report"
    today = date.today()
    result = cli(
        "report",
        "--from",
        (today - timedelta(days=7)).isoformat(),
        "--to",
        today.isoformat(),
        "--out",
        str(out),
        "--data-dir",
        str(tmp_path / "db"),
    )
    assert result.exit_code == 0, result.output
    figures = json.loads((out / "report.json").read_text())
    assert figures["questions"] == 5
    declined = sum("not guess" in p.body["text"] for p in posts)
    assert declined == 2
    assert (figures["answered"], figures["abstained"]) == (5 - declined, declined)
    assert (figures["feedback_positive"], figures["feedback_negative"]) == (1, 1)
    assert figures["helpful_rate"] == 0.5
    assert (figures["consultations_opened"], figures["consultations_resolved"]) == (1, 1)
    assert figures["median_first_response_hours"] is not None
    assert figures["usage_by_channel"] == {"C1": 3, "C2": 2}
    gaps = figures["knowledge_gaps"]
    assert len(gaps) == 2  # the two Lisbon paraphrases, and the answer marked unhelpful
    assert sorted(gaps[0]["questions"]) == sorted(asked[3:])
    assert gaps[1]["questions"] == ["Who owns red-teaming?"]
    markdown = (out / "report.md").read_text()
    assert "| questions asked | 5 |" in markdown and "| helpful rate | 50.0 % |" in markdown
    charts = sorted(out.glob("*.png"))
    assert len(charts) >= 4
    for chart in charts:
        assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 5000
        assert f"]({chart.name})" in markdown


def test_staff_see_figures_and_checklist_runs_in_app_home_and_the_cli(cli, write, double, tmp_path):
    write("launch.md", doc("Team launch checklist", CHECKLIST, type="checklist"))
    data = tmp_path / "kb"
    cli("ingest", str(write.root), "--data-dir", str(data))
    app = start_app(data, double.url, tmp_path / "db", COE_STAFF_USER_IDS="USTAFF")
    try:
        run = _start_run(app, double, "team launch")
        _tick(app, run, 0, ["0.0"], user="U1")
        double.wait_for("chat.update")
        app.event(
            {
                "type": "app_home_opened",
                "user": "USTAFF",
                "channel": "D1",
                "tab": "home",
                "event_ts": "1700009000.000100",
            }
        )
        home = double.wait_for("views.publish", user_id="USTAFF")[0].body["view"]
        text = all_text(home["blocks"])
        assert "CoE figures, last 90 days" in text
        assert "*Team launch checklist* in <#C1> — 1 of 4 done" in text
        assert len(home["blocks"]) <= 100
        app.event(
            {
                "type": "app_home_opened",
                "user": "U1",
                "channel": "D2",
                "tab": "home",
                "event_ts": "1700009000.000200",
            }
        )
        assert "CoE figures" not in all_text(
            double.wait_for("views.publish", user_id="U1")[0].body["view"]["blocks"]
        )
    finally:
        app.stop()
    env = {"COE_DATA_DIR": str(tmp_path / "db")}
    status = cli.json("checklists", "status", env=env)
    assert [(r["title"], r["channel"], r["done"], r["total"]) for r in status] == [
        ("Team launch checklist", "C1", 1, 4)
    ]
    assert (
        cli("checklists", "attach", str(status[0]["run"]), "CR-0007", env=env).exit_code == 2
    )  # no such request


def test_purge_removes_questions_past_the_retention_period(app, double, cli, tmp_path):
    from datetime import UTC, datetime

    from sqlalchemy import text

    app.event(mention("Who owns red-teaming?", ts="1700010000.000100"))
    app.event(mention("What is the capital of Australia?", ts="1700010000.000200"))
    double.wait_for("chat.postMessage", count=2)
    with app.store.session() as session:
        session.execute(
            text("UPDATE answers SET created_at = :t WHERE question LIKE 'What is%'"),
            {"t": datetime.now(UTC) - timedelta(days=200)},
        )
    result = cli("purge", "--data-dir", str(tmp_path / "db"))
    assert result.exit_code == 0 and "Removed 1 questions" in result.stderr
    with app.store.session() as session:
        left = session.execute(text("SELECT question FROM answers")).scalars().all()
    assert left == ["Who owns red-teaming?"]


def test_a_hostile_workshop_name_is_inert(app, double):
    app.command(
        'workshop start "<!channel> party <@U999>"',
        user="UTRAINER",
        channel="C7",
        response_url=double.response_url("hw"),
    )
    welcome = double.wait_for("chat.postMessage", channel="C7")[0].body
    reply = double.wait_for("response/hw")[0].body
    shown = all_text(welcome["blocks"]) + welcome["text"] + reply["text"]
    assert "<!channel>" not in shown and "<@U999>" not in shown
    assert "&lt;!channel&gt; party" in reply["text"]
