"""What `/metrics` shows, in the Prometheus text format (prometheus-client).

One registry per app, not the library's global one: a test process builds many apps, and a
replica's figures are its own. Gauges that live in the database or the index (outbox depth,
index age) are read when Prometheus scrapes, not kept up to date on every change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.answering.models import Answer
from bot.answering.written import MODEL_DECLINED, NOT_ASKED

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Scraped(Collector):
    """Gauges computed at scrape time; a failing source is left out, never an error page."""

    def __init__(
        self,
        outbox_counts: Callable[[], dict[str, int]],
        index_served: Callable[[], tuple[int, datetime | None]],
    ) -> None:
        self._outbox_counts = outbox_counts
        self._index_served = index_served

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Without this, registering would call collect(): open the index and the database
        # while the app is being built.
        return [
            GaugeMetricFamily("coe_outbox_messages", "", labels=["state"]),
            GaugeMetricFamily("coe_index_age_seconds", ""),
            GaugeMetricFamily("coe_index_generation", ""),
        ]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            counts = self._outbox_counts()
            depth = GaugeMetricFamily(
                "coe_outbox_messages", "Slack messages in the outbox, by state", labels=["state"]
            )
            for state in ("pending", "sending", "sent", "failed"):
                depth.add_metric([state], counts.get(state, 0))
            yield depth
        except Exception as error:
            log.info("metrics: outbox depth unavailable: %s", error)
        try:
            generation, created = self._index_served()
            yield GaugeMetricFamily(
                "coe_index_generation", "The index generation this replica answers from", generation
            )
            if created is not None:
                age = (datetime.now(UTC) - created).total_seconds()
                yield GaugeMetricFamily(
                    "coe_index_age_seconds", "Time since the current index was published", age
                )
        except Exception as error:
            log.info("metrics: index age unavailable: %s", error)


class Telemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.questions = Counter(
            "coe_questions",
            "Questions, by outcome (answered, partial, declined, failed, rate_limited, help)",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "coe_answer_seconds",
            "Time to compose an answer (search, decision, quotes or the written answer)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.slack_errors = Counter(
            "coe_slack_errors",
            "Failed Slack API calls for outgoing messages, by message kind and what happened",
            ["kind", "result"],
            registry=self.registry,
        )
        self.llm_calls = Counter(
            "coe_llm_answers",
            "Questions sent to the answer model, by result (written, declined, fallback)",
            ["result"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "coe_llm_tokens",
            "Tokens used by the answer model",
            ["direction"],
            registry=self.registry,
        )

    def watch(
        self,
        outbox_counts: Callable[[], dict[str, int]],
        index_served: Callable[[], tuple[int, datetime | None]],
    ) -> None:
        """`index_served`: the generation answers come from, and when it was published."""
        self.registry.register(_Scraped(outbox_counts, index_served))

    def answered(self, answer: Answer) -> None:
        self.questions.labels(answer.outcome).inc()
        self.latency.observe(answer.latency_ms / 1000)
        written = answer.written
        if written is None or written.fallback == NOT_ASKED:
            return
        if written.kept:
            result = "written"
        elif written.fallback == MODEL_DECLINED:
            result = "declined"
        else:
            result = "fallback"
        self.llm_calls.labels(result).inc()
        self.llm_tokens.labels("in").inc(written.tokens_in)
        self.llm_tokens.labels("out").inc(written.tokens_out)

    def other(self, outcome: str) -> None:
        self.questions.labels(outcome).inc()

    def slack_failed(self, kind: str, result: str) -> None:
        self.slack_errors.labels(kind, result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
