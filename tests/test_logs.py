"""COE_LOG_FORMAT=json: one JSON object a line, carrying the reference of the work at hand."""

from __future__ import annotations

import io
import json
import logging
import time

from bot.logs import JsonFormatter, about, configure
from tests.slack_harness import all_text, mention, start_app


def test_log_lines_written_while_answering_carry_the_answer_reference(kb_data, double, tmp_path):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    app = start_app(kb_data, double.url, tmp_path / "db", COE_DELIVERY_BACKOFF_S="0.1")
    try:
        double.fail("chat.postMessage", status=500, retry_after=None, times=1)
        app.event(mention("Who owns red-teaming?", ts="1700009100.000100"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            app.slack.deliverer.run_due()
            posted = [c for c in double.of("chat.postMessage") if c.fault is None]
            if posted:
                break
            time.sleep(0.1)
    finally:
        app.stop()
        root.removeHandler(handler)
        root.setLevel(level)
    text = all_text(posted[0].body["blocks"])
    reference = text.split("Answer ref `")[1].split("`")[0]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    retried = [line for line in lines if "try 1 failed" in line["message"]]
    assert retried and retried[0]["reference"] == reference
    assert retried[0]["level"] == "WARNING" and retried[0]["logger"] == "bot.slack.delivery"
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_plain_lines_name_the_reference_too(capsys):
    root = logging.getLogger()
    before = list(root.handlers)
    configure("text")
    try:
        with about("ABCD1234"):
            logging.getLogger("bot.test").warning("something happened")
        logging.getLogger("bot.test").warning("outside")
    finally:
        root.handlers[:] = before
    err = capsys.readouterr().err
    assert "WARNING bot.test [ref ABCD1234] something happened" in err
    assert "WARNING bot.test outside" in err
