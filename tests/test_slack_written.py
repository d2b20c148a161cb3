"""Written answers streamed into Slack: the real app over HTTP, a Slack double, a model double."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from tests.llm_double import LLMDouble, Reply, citing
from tests.slack_harness import all_text, mention, message, start_app

CHARTER = "AI Center of Excellence Charter"
QUESTION = "do we need CoE approval to launch a feature?"
GOOD = "Low- and medium-risk launches are self-certified by the product team [{n}]."
ALSO_GOOD = "Only high-risk launches need a CoE sign-off [{n}]."
INVENTED = "Launches also need approval from Jordan Blake in finance [{n}]."


@pytest.fixture()
def llm():
    with LLMDouble() as double:
        yield double


@pytest.fixture()
def app(kb_data, double, llm, tmp_path):
    running = start_app(
        kb_data,
        double.url,
        tmp_path / "db",
        COE_LLM_BASE_URL=llm.base_url,
        COE_LLM_MODEL="coe-test-model",
        COE_LLM_TIMEOUT_S="5",
    )
    yield running
    running.stop()


def _streamed_text(double) -> str:
    return "".join(
        str(c.body.get("markdown_text") or "")
        for c in double.calls
        if c.method in ("chat.startStream", "chat.appendStream", "chat.stopStream")
    )


def test_a_written_answer_streams_sentence_by_sentence_then_closes_with_sources(app, double, llm):
    llm.script(citing(CHARTER, GOOD, INVENTED, ALSO_GOOD, chunk_chars=7))
    app.event(mention(QUESTION, ts="1700005000.000100"))
    stop = double.wait_for("chat.stopStream")[0]
    start = double.of("chat.startStream")[0].body
    assert start["channel"] == "C1" and start["thread_ts"] == "1700005000.000100"
    assert start["recipient_user_id"] == "U1" and start["recipient_team_id"] == "T1"
    assert start["markdown_text"] == (
        "Low- and medium-risk launches are self-certified by the product team. [1]"
    )
    (append,) = double.of("chat.appendStream")
    assert append.body["markdown_text"] == " Only high-risk launches need a CoE sign-off. [1]"
    # The invented sentence never reached Slack, not even for a moment.
    assert "Jordan" not in json.dumps([c.body for c in double.calls])
    final = stop.body["blocks"]
    text = all_text(final)
    assert "*Sources*" in text and "AI Center of Excellence Charter" in text
    assert any(b["type"] == "context_actions" for b in final)  # feedback buttons
    assert "ask_expert" in json.dumps(final)
    assert "written by coe-test-model" in text and "Answer ref `" in text
    assert "1 sentence of the written answer was left out" in text
    assert "self-certified" not in text  # the sentences are in the streamed text, not twice
    (shown,) = [m for m in double.messages("C1") if m.get("thread_ts") == "1700005000.000100"]
    assert stop.body["ts"] == shown["ts"]
    assert shown["text"].count("[1]") == 2 and not shown["streaming"]
    assert double.of("chat.postMessage") == []
    # The answer log keeps what was dropped and why, for staff to audit.
    reference = text.split("Answer ref `")[1].split("`")[0]
    record = app.store.answer(reference)
    assert record.message_ts == shown["ts"]
    assert record.written["dropped"][0]["text"].startswith("Launches also need approval")
    assert "Jordan" in record.written["dropped"][0]["reason"]


def test_not_in_the_sources_gives_the_decline_with_the_expert_button(app, double, llm):
    llm.script(Reply("NOT_IN_SOURCES"))
    app.event(mention(QUESTION, ts="1700005100.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700005100.000100")[0]
    assert "will not guess" in all_text(post.body["blocks"])
    assert "ask_expert" in json.dumps(post.body["blocks"])
    assert double.of("chat.startStream") == []


def test_a_model_without_citations_gives_quotes_with_a_note(app, double, llm):
    llm.script(Reply("Low- and medium-risk launches are self-certified by the product team."))
    app.event(mention(QUESTION, ts="1700005200.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700005200.000100")[0]
    text = all_text(post.body["blocks"])
    assert "Quoted from the sources: the written answer was not usable" in text
    assert "never generated" in text and "[1]" in text
    assert double.of("chat.startStream") == []


def test_a_dead_model_gives_quotes_and_the_answer_still_arrives(app, double, llm):
    llm.script(*[Reply(status=500)] * 3)
    app.event(mention(QUESTION, ts="1700005300.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700005300.000100")[0]
    assert "the model answered 500" in all_text(post.body["blocks"])


def test_when_slack_refuses_the_stream_the_answer_is_posted_whole(app, double, llm):
    double.fail("chat.startStream", status=200, retry_after=None, error="not_allowed")
    llm.script(citing(CHARTER, GOOD, ALSO_GOOD))
    app.event(mention(QUESTION, ts="1700005400.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700005400.000100")[0]
    text = all_text(post.body["blocks"])
    assert "self-certified by the product team. *[1]*" in text
    assert "written by coe-test-model" in text


def test_a_failed_stop_is_retried_from_the_outbox(app, double, llm):
    double.fail("chat.stopStream", status=500, retry_after=None, times=1)
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(mention(QUESTION, ts="1700005500.000100"))
    double.wait_for("chat.stopStream")
    deadline = time.monotonic() + 20
    while len(double.of("chat.stopStream")) < 2 and time.monotonic() < deadline:
        app.slack.deliverer.run_due()  # what the sweep does every few seconds in `coe serve`
        time.sleep(0.2)
    stops = double.of("chat.stopStream")
    assert stops[0].fault == "status 500" and stops[1].fault is None
    (shown,) = [m for m in double.messages("C1") if m.get("thread_ts") == "1700005500.000100"]
    assert not shown["streaming"] and shown["blocks"]


def test_a_thread_follow_up_is_rewritten_from_the_thread(app, double, llm):
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(mention(QUESTION, ts="1700005600.000100"))
    double.wait_for("chat.stopStream")
    llm.script(Reply("Which launches need a CoE sign-off?"), citing(CHARTER, ALSO_GOOD))
    app.event(message("which ones need it?", ts="1700005600.000200", thread_ts="1700005600.000100"))
    double.wait_for("chat.stopStream", count=2)
    rewrite = llm.chat_requests()[1]
    assert QUESTION in rewrite["messages"][1]["content"]
    assert "Only high-risk launches need a CoE sign-off. [1]" in rewrite["messages"][1]["content"]
    assert llm.chat_requests()[2]["messages"][1]["content"] == (
        "Which launches need a CoE sign-off?"
    )


def test_the_assistant_pane_shows_status_while_searching_and_writing(app, double, llm):
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(
        message(
            QUESTION,
            ts="1700005700.000200",
            channel="D9",
            channel_type="im",
            thread_ts="1700005700.000100",
        )
    )
    double.wait_for("chat.stopStream")
    statuses = [c.body["status"] for c in double.of("assistant.threads.setStatus")]
    assert "searching the knowledge base…" in statuses
    assert "writing an answer from the sources…" in statuses


def test_a_direct_message_without_a_thread_gets_the_whole_answer(app, double, llm):
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(message(QUESTION, ts="1700005800.000100", channel="D2", channel_type="im"))
    post = double.wait_for("chat.postMessage", channel="D2")[0]
    assert "Only high-risk launches need a CoE sign-off. *[1]*" in all_text(post.body["blocks"])


def test_a_stop_that_landed_but_lost_its_answer_is_not_sent_twice(app, double, llm):
    double.drop("chat.stopStream", perform=True)
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(mention(QUESTION, ts="1700005900.000100"))
    double.wait_for("chat.stopStream")
    deadline = time.monotonic() + 20
    reference = None
    while time.monotonic() < deadline:
        app.slack.deliverer.run_due()
        rows = [c for c in double.of("chat.stopStream") if c.fault is None]
        if rows:
            reference = all_text(rows[0].body["blocks"]).split("Answer ref `")[1].split("`")[0]
            record = app.store.answer(reference)
            if record is not None and record.message_ts:
                break
        time.sleep(0.2)
    assert reference is not None
    (shown,) = [m for m in double.messages("C1") if m.get("thread_ts") == "1700005900.000100"]
    assert app.store.answer(reference).message_ts == shown["ts"]
    assert shown["text"] == "Only high-risk launches need a CoE sign-off. [1]"


def test_usage_and_fallback_rate_show_in_the_report_and_stats(kb_data, double, llm, cli, tmp_path):
    app = start_app(
        kb_data,
        double.url,
        tmp_path / "db",
        COE_LLM_BASE_URL=llm.base_url,
        COE_LLM_MODEL="coe-test-model",
        COE_LLM_TIMEOUT_S="5",
        COE_STAFF_USER_IDS="USTAFF",
    )
    try:
        llm.script(citing(CHARTER, GOOD, INVENTED), *[Reply(status=500)] * 3)
        app.event(mention(QUESTION, ts="1700006000.000100"))
        double.wait_for("chat.stopStream")
        app.event(mention(QUESTION, ts="1700006000.000200"))
        double.wait_for("chat.postMessage", thread_ts="1700006000.000200")
        app.command("stats", user="USTAFF", response_url=double.response_url("stats"))
        stats = all_text(double.wait_for("response/stats")[0].body["blocks"])
    finally:
        app.stop()
    assert "Answer model: *1* written answers of 2, fallback rate *50 %*" in stats
    assert "1 sentences dropped by verification" in stats
    today = date.today().isoformat()
    out = tmp_path / "report"
    result = cli(
        "report",
        "--from",
        today,
        "--to",
        today,
        "--out",
        str(out),
        "--data-dir",
        str(tmp_path / "db"),
    )
    assert result.exit_code == 0, result.output
    usage = json.loads((out / "report.json").read_text())["model"]
    assert (usage["questions"], usage["written"], usage["fallbacks"]) == (2, 1, 1)
    assert usage["fallback_reasons"] == {"the model answered 500": 1}
    assert usage["tokens_in"] > 100 and usage["first_sentence_p50_ms"] is not None
    report = (out / "report.md").read_text()
    assert "| quotes shown instead (fallback) | 1 (50.0 %) |" in report
    assert "| sentences shown / dropped by verification | 1 / 1 |" in report


def test_when_slack_ended_the_stream_itself_the_sources_follow_as_a_reply(app, double, llm):
    double.fail(
        "chat.stopStream", status=200, retry_after=None, error="message_not_in_streaming_state"
    )
    llm.script(citing(CHARTER, ALSO_GOOD))
    app.event(mention(QUESTION, ts="1700006100.000100"))
    post = double.wait_for("chat.postMessage", thread_ts="1700006100.000100")[0]
    text = all_text(post.body["blocks"])
    assert "*Sources*" in text and "ask_expert" in json.dumps(post.body["blocks"])
    assert "self-certified" not in text and "high-risk" not in text  # shown once, streamed


def test_metrics_count_what_the_model_did(app, double, llm):
    import urllib.request

    llm.script(citing(CHARTER, GOOD, INVENTED), Reply("NOT_IN_SOURCES"))
    app.event(mention(QUESTION, ts="1700006200.000100"))
    double.wait_for("chat.stopStream")
    app.event(mention(QUESTION, ts="1700006200.000200"))
    double.wait_for("chat.postMessage", thread_ts="1700006200.000200")
    with urllib.request.urlopen(f"{app.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    assert 'coe_llm_answers_total{result="written"} 1.0' in text
    assert 'coe_llm_answers_total{result="declined"} 1.0' in text
    assert 'coe_llm_tokens_total{direction="in"}' in text
