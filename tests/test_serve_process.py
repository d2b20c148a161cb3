"""The real `coe serve` process against the Slack double: answer, read back, stop on SIGTERM."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from tests.serve_process import ServeProcess
from tests.slack_harness import mention

pytestmark = pytest.mark.slow


def test_coe_serve_answers_a_mention_and_stops_on_sigterm(kb_data, double, tmp_path):
    question = mention("Who owns red-teaming?", ts="1700000100.000100")
    double.add_event(question)  # the question itself, as Slack would hold it
    server = ServeProcess(
        api_url=double.url,
        data_dir=kb_data,
        env={"COE_DATABASE_URL": f"sqlite:///{tmp_path}/coe.db"},
        log_path=tmp_path / "serve.log",
    )
    with server:
        server.start()
        assert server.event(question).status == 200

        post = double.wait_for("chat.postMessage", thread_ts="1700000100.000100", timeout=60)[0]
        client = WebClient(token="xoxb-test-token", base_url=double.url, timeout=5)
        client.chat_postMessage(
            channel="C1",
            thread_ts="1700000100.000100",
            text="(a note with metadata)",
            metadata={"event_type": "coe_note", "event_payload": {"n": 1}},
        )
        thread = client.conversations_replies(
            channel="C1", ts="1700000100.000100", include_all_metadata=True
        )["messages"]
        assert thread[0]["text"] == question["text"]
        answer, note = thread[1], thread[2]
        assert answer["bot_id"] == "BBOT" and "Priya Raman" in str(answer["blocks"])
        assert answer.get("metadata") == post.body.get("metadata")  # whatever the app attached
        assert note["metadata"] == {"event_type": "coe_note", "event_payload": {"n": 1}}

        server.terminate()
        code, seconds = server.wait(timeout=30)
        # A graceful stop: uvicorn closes, answers in progress finish, the process exits 0.
        assert code == 0, server.log_tail()
        assert "Finished server process" in server.log_text()
        assert seconds < 30
    assert not server.running
