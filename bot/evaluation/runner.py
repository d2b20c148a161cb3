"""Runs the golden set through the real answering service and a dense-only baseline."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from bot.answering.decision import Calibration, save_calibration, team_calibration_file
from bot.answering.models import Answer
from bot.answering.retrieval import rank_documents
from bot.answering.service import AnswerService
from bot.answering.written import MODEL_DECLINED, NOT_ASKED
from bot.evaluation.autocalibrate import probe_median
from bot.evaluation.baseline import DenseBaseline
from bot.evaluation.calibrate import cross_validated_decisions, fit
from bot.evaluation.golden import GoldenSet, Thresholds, load_golden
from bot.evaluation.metrics import (
    AbstentionMetrics,
    RankingMetrics,
    abstention_metrics,
    first_relevant_rank,
    ranking_metrics,
)

RANK_DEPTH = 40  # passages fetched to rank ten distinct documents


class Miss(BaseModel):
    question: str
    expected: list[str]
    got: list[str]


class Usefulness(BaseModel):
    """In-scope questions answered with a right document cited and the expected words said."""

    useful: float  # share of in-scope questions
    answered: int
    partial: int
    declined: int
    right_document_cited: float
    words_said: float  # among questions that list `answer_has`


class NotUseful(BaseModel):
    question: str
    outcome: str
    why: str
    answer: str


class WrittenPath(BaseModel):
    """The same golden set answered by the configured model (`coe eval --llm`)."""

    model: str
    usefulness: Usefulness
    abstention: AbstentionMetrics
    written: int  # answers in the model's words
    fallbacks: int  # quotes shown instead
    sentences_kept: int
    sentences_dropped: int
    dropped_share: float  # of the sentences the model wrote, the share verification dropped
    drop_reasons: dict[str, int] = Field(default_factory=dict)
    tokens_in: int = 0
    tokens_out: int = 0
    not_useful: list[NotUseful] = Field(default_factory=list)


class EvalReport(BaseModel):
    questions: int
    in_scope: int
    out_of_scope: int
    usefulness: Usefulness | None = None
    not_useful: list[NotUseful] = Field(default_factory=list)
    hybrid: RankingMetrics
    baseline: RankingMetrics | None = None
    abstention: AbstentionMetrics
    abstention_cross_validated: AbstentionMetrics
    calibration: Calibration
    thresholds: Thresholds
    failures: list[str] = Field(default_factory=list)
    misses: list[Miss] = Field(default_factory=list)
    wrongly_answered: list[str] = Field(default_factory=list)
    wrongly_declined: list[str] = Field(default_factory=list)
    llm: WrittenPath | None = None

    @property
    def passed(self) -> bool:
        return not self.failures


def _check(report: EvalReport) -> list[str]:
    t = report.thresholds
    checks = [
        ("useful answers", report.usefulness.useful if report.usefulness else 0.0, t.useful),
        ("hit@3", report.hybrid.hit_at_3, t.hit_at_3),
        ("MRR", report.hybrid.mrr, t.mrr),
        ("abstention recall", report.abstention.recall, t.abstention_recall),
        ("abstention precision", report.abstention.precision, t.abstention_precision),
        ("in-scope answered", report.abstention.in_scope_answered, t.in_scope_answered),
    ]
    return [f"{name} {value:.3f} < {limit:.2f}" for name, value, limit in checks if value < limit]


def run_evaluation(
    service: AnswerService,
    golden_path: Path | None = None,
    calibrate: bool = False,
    baseline: bool = True,
    llm: bool = False,
) -> EvalReport:
    """The extractive path always; with `llm`, the configured model's answers side by side."""
    writer = service.writer
    service.writer = None
    try:
        report = _run(service, golden_path, calibrate, baseline)
    finally:
        service.writer = writer
    if llm:
        if writer is None:
            raise ValueError("no answer model configured: set COE_LLM_BASE_URL and COE_LLM_MODEL")
        report.llm = written_path(service, load_golden(golden_path))
    return report


def written_path(service: AnswerService, golden: GoldenSet) -> WrittenPath:
    assert service.writer is not None
    answers = [service.ask(q.question, staff=q.staff) for q in golden.questions]
    useful, misses = usefulness(golden, answers)
    records = [a.written for a in answers if a.written is not None]
    kept = sum(r.kept for r in records)
    dropped = [d for r in records for d in r.dropped]
    reasons: dict[str, int] = {}
    for item in dropped:
        key = item.reason.split(":")[0].split(" (")[0]
        reasons[key] = reasons.get(key, 0) + 1
    return WrittenPath(
        model=service.writer.model_name,
        usefulness=useful,
        abstention=abstention_metrics(
            [a.abstained for a in answers], [q.out_of_scope for q in golden.questions]
        ),
        written=sum(1 for r in records if r.kept),
        fallbacks=sum(
            1
            for r in records
            if not r.kept and r.fallback and r.fallback not in (NOT_ASKED, MODEL_DECLINED)
        ),
        sentences_kept=kept,
        sentences_dropped=len(dropped),
        dropped_share=round(len(dropped) / (kept + len(dropped)), 3)
        if kept + len(dropped)
        else 0.0,
        drop_reasons=dict(sorted(reasons.items(), key=lambda kv: -kv[1])),
        tokens_in=sum(r.tokens_in for r in records),
        tokens_out=sum(r.tokens_out for r in records),
        not_useful=misses,
    )


def _run(
    service: AnswerService, golden_path: Path | None, calibrate: bool, baseline: bool
) -> EvalReport:
    golden: GoldenSet = load_golden(golden_path)
    in_scope = [q for q in golden.questions if not q.out_of_scope]
    rankings: list[list[str]] = []
    for question in in_scope:
        passages = service.passages(question.question, question.staff, RANK_DEPTH)
        rankings.append(rank_documents(passages)[:10])
    relevant = [set(q.expected) for q in in_scope]

    answers = [service.ask(q.question, staff=q.staff) for q in golden.questions]
    features = [a.evidence.model_dump(exclude={"confidence"}) for a in answers]
    oos = [q.out_of_scope for q in golden.questions]
    target = golden.thresholds.abstention_recall
    if calibrate:
        # Saved with the team's data, never into the installed package.
        fitted = fit(features, oos, target)
        # Recorded so that, shipped as the default, this rule can be moved to other corpora.
        measured = probe_median(service, fitted)
        fitted.probe_median = round(measured[0], 4) if measured else None
        service.calibration = fitted
        save_calibration(service.calibration, team_calibration_file(service.data_dir))
        answers = [service.ask(q.question, staff=q.staff) for q in golden.questions]
    abstained = [a.abstained for a in answers]

    report = EvalReport(
        questions=len(golden.questions),
        in_scope=len(in_scope),
        out_of_scope=sum(oos),
        hybrid=ranking_metrics(rankings, relevant),
        abstention=abstention_metrics(abstained, oos),
        abstention_cross_validated=abstention_metrics(
            cross_validated_decisions(features, oos, target), oos
        ),
        calibration=service.calibration,
        thresholds=golden.thresholds,
    )
    if baseline:
        dense = DenseBaseline(service.index)
        baseline_rankings = [dense.rank_documents(q.question, q.staff) for q in in_scope]
        report.baseline = ranking_metrics(baseline_rankings, relevant)
    for question, ranking, rel in zip(in_scope, rankings, relevant, strict=True):
        rank = first_relevant_rank(ranking, rel)
        if rank is None or rank > 3:
            report.misses.append(
                Miss(question=question.question, expected=question.expected, got=ranking[:3])
            )
    for question, answer in zip(golden.questions, answers, strict=True):
        if question.out_of_scope and not answer.abstained:
            report.wrongly_answered.append(question.question)
        if not question.out_of_scope and answer.abstained:
            report.wrongly_declined.append(question.question)
    report.usefulness, report.not_useful = usefulness(golden, answers)
    report.failures = _check(report)
    return report


def says(answer_text: str, item: str) -> bool:
    """An `answer_has` item is said when any of its "|" alternatives appears (any case)."""
    text = " ".join(answer_text.lower().split())
    return any(" ".join(alt.lower().split()) in text for alt in item.split("|") if alt.strip())


def usefulness(golden: GoldenSet, answers: list[Answer]) -> tuple[Usefulness, list[NotUseful]]:
    useful = cited_right = with_words = words_ok = 0
    counts = {"answered": 0, "partial": 0, "declined": 0}
    misses: list[NotUseful] = []
    in_scope = [
        (q, a) for q, a in zip(golden.questions, answers, strict=True) if not q.out_of_scope
    ]
    for question, answer in in_scope:
        counts[answer.outcome if answer.outcome in counts else "answered"] += 1
        cited = {s.doc_id for s in answer.sources if s.cited}
        right = bool(cited & set(question.expected))
        said = all(says(answer.answer, item) for item in question.answer_has)
        cited_right += right
        if question.answer_has:
            with_words += 1
            words_ok += said
        ok = answer.outcome != "declined" and right and said
        useful += ok
        if not ok:
            why = (
                "declined"
                if answer.outcome == "declined"
                else "wrong document cited"
                if not right
                else "expected words missing: "
                + ", ".join(i for i in question.answer_has if not says(answer.answer, i))
            )
            misses.append(
                NotUseful(
                    question=question.question,
                    outcome=answer.outcome,
                    why=why,
                    answer=answer.answer[:300],
                )
            )
    n = len(in_scope) or 1
    return (
        Usefulness(
            useful=useful / n,
            answered=counts["answered"],
            partial=counts["partial"],
            declined=counts["declined"],
            right_document_cited=cited_right / n,
            words_said=words_ok / with_words if with_words else 0.0,
        ),
        misses,
    )
