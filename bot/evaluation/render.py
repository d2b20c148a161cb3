"""The `coe eval` report in a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bot.evaluation.runner import EvalReport


def print_report(console: Console, report: EvalReport) -> None:
    console.print(
        f"Golden set: {report.questions} questions "
        f"({report.in_scope} in scope, {report.out_of_scope} out of scope)"
    )
    table = Table(title="Retrieval (document level, in-scope questions)")
    table.add_column("metric")
    table.add_column("hybrid (dense + BM25, RRF)", justify="right")
    table.add_column("dense-only baseline", justify="right")
    for name, field in (
        ("hit@1", "hit_at_1"),
        ("hit@3", "hit_at_3"),
        ("MRR", "mrr"),
        ("nDCG@10", "ndcg_at_10"),
    ):
        base = f"{getattr(report.baseline, field):.3f}" if report.baseline else "-"
        table.add_row(name, f"{getattr(report.hybrid, field):.3f}", base)
    console.print(table)
    abst = Table(title="Abstention (declining out-of-scope questions)")
    abst.add_column("metric")
    abst.add_column("fitted rule", justify="right")
    abst.add_column("5-fold cross-validated", justify="right")
    for name, field in (
        ("precision", "precision"),
        ("recall", "recall"),
        ("in-scope answered", "in_scope_answered"),
    ):
        abst.add_row(
            name,
            f"{getattr(report.abstention, field):.3f}",
            f"{getattr(report.abstention_cross_validated, field):.3f}",
        )
    console.print(abst)
    if report.usefulness:
        u = report.usefulness
        console.print(
            f"Useful answers (right document cited and the expected words said): "
            f"[bold]{u.useful:.3f}[/bold] of in-scope questions — {u.answered} answered, "
            f"{u.partial} partial, {u.declined} declined; right document cited "
            f"{u.right_document_cited:.3f}, expected words said {u.words_said:.3f}"
        )
    c = report.calibration
    terms = " + ".join(f"{w:g} × {name}" for name, w in c.weights.items() if w)
    console.print(
        f"Rule: answer when similarity{' + ' + terms if terms else ''} ≥ {c.threshold:g}"
        + (f", partly from {c.threshold - c.partial_margin:g}" if c.partial_margin else "")
        + f" (fitted on {escape(c.fitted_on)})"
    )
    for miss in report.misses:
        console.print(
            f"[yellow]miss@3[/yellow] {escape(miss.question)} → expected "
            f"{', '.join(miss.expected)}; got {', '.join(miss.got)}"
        )
    for question in report.wrongly_answered:
        console.print(f"[yellow]answered but out of scope[/yellow] {escape(question)}")
    for question in report.wrongly_declined:
        console.print(f"[yellow]declined but in scope[/yellow] {escape(question)}")
    for item in report.not_useful:
        if item.outcome != "declined":
            console.print(
                f"[yellow]not useful[/yellow] ({escape(item.why)}) {escape(item.question)}\n"
                f"    → {escape(item.answer)}"
            )
    if report.llm:
        _print_side_by_side(console, report)
    if report.passed:
        console.print("[green]PASS: all thresholds met[/green]")
    else:
        for failure in report.failures:
            console.print(f"[red]FAIL: {escape(failure)}[/red]")


def _print_side_by_side(console: Console, report: EvalReport) -> None:
    written = report.llm
    assert written is not None
    table = Table(title=f"Quotes vs written by {escape(written.model)} (same questions)")
    table.add_column("metric")
    table.add_column("extractive (default)", justify="right")
    table.add_column("written, verified", justify="right")
    quoted = report.usefulness
    rows = [
        ("useful answers", quoted.useful if quoted else None, written.usefulness.useful),
        (
            "right document cited",
            quoted.right_document_cited if quoted else None,
            written.usefulness.right_document_cited,
        ),
        ("out-of-scope declined", report.abstention.recall, written.abstention.recall),
        (
            "in-scope answered",
            report.abstention.in_scope_answered,
            written.abstention.in_scope_answered,
        ),
    ]
    for name, left, right in rows:
        table.add_row(name, "-" if left is None else f"{left:.3f}", f"{right:.3f}")
    console.print(table)
    reasons = ", ".join(f"{escape(r)} {n}" for r, n in written.drop_reasons.items()) or "none"
    console.print(
        f"Written: {written.written} answers in the model's words, {written.fallbacks} fell back "
        f"to quotes; verification dropped {written.sentences_dropped} of "
        f"{written.sentences_kept + written.sentences_dropped} sentences "
        f"([bold]{written.dropped_share:.1%}[/bold]): {reasons}. "
        f"Tokens: {written.tokens_in} in, {written.tokens_out} out."
    )
