"""Impact figures for a period, from what the database recorded (questions, feedback,
consultations, checklist runs)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.answering.written import MODEL_DECLINED, NOT_ASKED
from bot.db.models import (
    AnswerRecord,
    ChecklistRun,
    ChecklistTick,
    ConsultationRequest,
    FeedbackRecord,
)
from bot.db.store import Store
from bot.enablement.gaps import Gap, group_questions
from bot.work.leases import aware


class WeekCount(BaseModel):
    week: str  # ISO week, e.g. 2026-W48
    answered: int = 0
    abstained: int = 0
    consultations_opened: int = 0
    consultations_resolved: int = 0
    positive: int = 0
    negative: int = 0


class ChecklistProgress(BaseModel):
    run_id: int
    title: str
    channel_id: str
    done: int
    total: int


class ModelUsage(BaseModel):
    """The optional answer model (COE_LLM_*): how often it wrote the answer, and at what cost."""

    questions: int = 0  # questions the model was asked to answer
    written: int = 0  # answered with the model's sentences
    declined: int = 0  # the model said the passages do not answer: the honest decline
    fallbacks: int = 0  # quotes shown instead: the model failed or nothing it wrote held up
    fallback_rate: float | None = None
    sentences_kept: int = 0
    sentences_dropped: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    first_sentence_p50_ms: float | None = None
    total_p95_ms: float | None = None
    fallback_reasons: dict[str, int] = Field(default_factory=dict)


def model_usage(records: list[dict]) -> ModelUsage | None:
    """Sums the `written` records of the answer log; None when no model was ever used."""
    usage = ModelUsage()
    firsts: list[float] = []
    totals: list[float] = []
    reasons: Counter[str] = Counter()
    for record in records:
        # Declines decided before the model is asked are not model usage.
        if record.get("fallback") == NOT_ASKED:
            continue
        usage.questions += 1
        usage.tokens_in += int(record.get("tokens_in") or 0)
        usage.tokens_out += int(record.get("tokens_out") or 0)
        usage.sentences_kept += int(record.get("kept") or 0)
        usage.sentences_dropped += len(record.get("dropped") or [])
        totals.append(float(record.get("total_ms") or 0.0))
        if record.get("first_sentence_ms") is not None:
            firsts.append(float(record["first_sentence_ms"]))
        if record.get("kept"):
            usage.written += 1
        elif record.get("fallback") == MODEL_DECLINED:  # its honest "not in the sources"
            usage.declined += 1
        elif record.get("fallback"):
            usage.fallbacks += 1
            reasons[str(record["fallback"])] += 1
    if not usage.questions:
        return None
    usage.fallback_rate = round(usage.fallbacks / usage.questions, 3)
    usage.fallback_reasons = dict(reasons.most_common())
    if firsts:
        usage.first_sentence_p50_ms = round(statistics.median(firsts), 1)
    if len(totals) >= 2:
        usage.total_p95_ms = round(statistics.quantiles(totals, n=20)[18], 1)
    return usage


class ImpactMetrics(BaseModel):
    period_from: date
    period_to: date
    questions: int = 0
    answered: int = 0
    abstained: int = 0
    failed: int = 0
    feedback_positive: int = 0
    feedback_negative: int = 0
    helpful_rate: float | None = None
    answer_latency_p95_ms: float | None = None
    consultations_opened: int = 0
    consultations_resolved: int = 0
    median_first_response_hours: float | None = None
    median_resolution_hours: float | None = None
    weeks: list[WeekCount] = Field(default_factory=list)
    usage_by_channel: dict[str, int] = Field(default_factory=dict)
    usage_by_surface: dict[str, int] = Field(default_factory=dict)
    checklists: list[ChecklistProgress] = Field(default_factory=list)
    knowledge_gaps: list[Gap] = Field(default_factory=list)
    model: ModelUsage | None = None


def _week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _hours(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def checklist_state(ticks: list[ChecklistTick]) -> dict[str, bool]:
    """The latest tick per item decides whether it is done."""
    state: dict[str, bool] = {}
    for tick in sorted(ticks, key=lambda t: t.id):
        state[tick.item_key] = tick.checked
    return state


def compute_metrics(
    store: Store,
    start: date,
    end: date,
    embed: Callable[[list[str]], np.ndarray] | None = None,
) -> ImpactMetrics:
    """Figures for [start, end] inclusive (UTC days)."""
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = datetime.combine(end, time.max, tzinfo=UTC)
    metrics = ImpactMetrics(period_from=start, period_to=end)
    weeks: dict[str, WeekCount] = {}

    def week(moment: datetime) -> WeekCount:
        key = _week(moment)
        return weeks.setdefault(key, WeekCount(week=key))

    with store.session() as session:
        answers = list(
            session.scalars(
                select(AnswerRecord).where(
                    AnswerRecord.created_at >= since, AnswerRecord.created_at <= until
                )
            )
        )
        feedback = list(
            session.scalars(
                select(FeedbackRecord).where(
                    FeedbackRecord.created_at >= since, FeedbackRecord.created_at <= until
                )
            )
        )
        requests = list(session.scalars(select(ConsultationRequest)))
        runs = list(
            session.scalars(
                select(ChecklistRun).where(
                    ChecklistRun.started_at >= since, ChecklistRun.started_at <= until
                )
            )
        )
        ticks_by_run: dict[int, list[ChecklistTick]] = defaultdict(list)
        if runs:
            for tick in session.scalars(
                select(ChecklistTick).where(ChecklistTick.run_id.in_([r.id for r in runs]))
            ):
                ticks_by_run[tick.run_id].append(tick)

    latencies = []
    channels: Counter[str] = Counter()
    surfaces: Counter[str] = Counter()
    for answer in answers:
        metrics.questions += 1
        channels[answer.channel_id] += 1
        surfaces[answer.surface] += 1
        if answer.failed:
            metrics.failed += 1
            continue
        bucket = week(aware(answer.created_at))
        if answer.abstained:
            metrics.abstained += 1
            bucket.abstained += 1
        else:
            metrics.answered += 1
            bucket.answered += 1
            latencies.append(answer.latency_ms)
    metrics.model = model_usage([a.written for a in answers if a.written])
    metrics.usage_by_channel = dict(channels.most_common())
    metrics.usage_by_surface = dict(surfaces.most_common())
    if len(latencies) >= 2:
        metrics.answer_latency_p95_ms = round(statistics.quantiles(latencies, n=20)[18], 1)

    negative_answers: set[int] = set()
    for item in feedback:
        bucket = week(aware(item.created_at))
        if item.value == "positive":
            metrics.feedback_positive += 1
            bucket.positive += 1
        else:
            metrics.feedback_negative += 1
            bucket.negative += 1
            if item.answer_id is not None:
                negative_answers.add(item.answer_id)
    rated = metrics.feedback_positive + metrics.feedback_negative
    metrics.helpful_rate = round(metrics.feedback_positive / rated, 3) if rated else None

    first_response, resolution = [], []
    for request in requests:
        created = aware(request.created_at)
        if since <= created <= until:
            metrics.consultations_opened += 1
            week(created).consultations_opened += 1
            if request.first_response_at:
                first_response.append(_hours(created, aware(request.first_response_at)))
        resolved = aware(request.resolved_at)
        if resolved and since <= resolved <= until and request.status == "resolved":
            metrics.consultations_resolved += 1
            week(resolved).consultations_resolved += 1
            resolution.append(_hours(created, resolved))
    if first_response:
        metrics.median_first_response_hours = round(statistics.median(first_response), 1)
    if resolution:
        metrics.median_resolution_hours = round(statistics.median(resolution), 1)

    for run in runs:
        state = checklist_state(ticks_by_run.get(run.id, []))
        total = sum(len(s["items"]) for s in run.sections)
        metrics.checklists.append(
            ChecklistProgress(
                run_id=run.id,
                title=run.title,
                channel_id=run.channel_id,
                done=sum(1 for done in state.values() if done),
                total=total,
            )
        )

    metrics.weeks = [weeks[k] for k in sorted(weeks)]
    gap_questions = [
        a.question for a in answers if (a.abstained or a.id in negative_answers) and not a.failed
    ]
    if embed is not None:
        metrics.knowledge_gaps = group_questions(gap_questions, embed)
    else:
        metrics.knowledge_gaps = [Gap(example=q, questions=[q]) for q in gap_questions]
    return metrics
