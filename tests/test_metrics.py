"""`/metrics` counts what happened, in the Prometheus text format."""

from __future__ import annotations

import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.slack_harness import mention, start_app


@pytest.fixture()
def app(kb_data, double, tmp_path):
    running = start_app(kb_data, double.url, tmp_path / "db", COE_DELIVERY_BACKOFF_S="0.1")
    yield running
    running.stop()


def _samples(app) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{app.url}/metrics", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_questions_latency_slack_failures_outbox_and_index_age(app, double):
    double.fail("chat.postMessage", status=500, retry_after=None, times=1)
    app.event(mention("Who owns red-teaming?", ts="1700009000.000100"))
    app.event(mention("will it rain in Lisbon tomorrow?", ts="1700009000.000200"))
    double.wait_for("chat.postMessage", thread_ts="1700009000.000200")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the first answer's post failed once: retried
        app.slack.deliverer.run_due()
        if len([c for c in double.of("chat.postMessage") if c.fault is None]) == 2:
            break
        time.sleep(0.1)
    metrics = _samples(app)
    assert metrics[("coe_questions_total", (("outcome", "answered"),))] == 1
    assert metrics[("coe_questions_total", (("outcome", "declined"),))] == 1
    assert metrics[("coe_answer_seconds_count", ())] == 2
    assert metrics[("coe_slack_errors_total", (("kind", "answer"), ("result", "retried")))] == 1
    assert metrics[("coe_outbox_messages", (("state", "sent"),))] == 2
    assert metrics[("coe_outbox_messages", (("state", "pending"),))] == 0
    assert 0 < metrics[("coe_index_age_seconds", ())] < 24 * 3600
