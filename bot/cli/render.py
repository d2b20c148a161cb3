"""How answers, search results and ingest reports look in a terminal (rich)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.answering.models import Answer
from bot.answering.retrieval import Passage
from ingest.pipeline import IngestReport, Outcome


def answer_renderable(answer: Answer, with_body: bool = True) -> Panel:
    """`with_body=False` when the sentences were already streamed to the terminal."""
    parts: list = []
    if answer.abstained:
        parts.append(Text(answer.answer, style="yellow"))
        if answer.related:
            parts.append(Text("\nThese documents came closest, in case they help:", style="dim"))
            for source in answer.related:
                parts.append(Text(f"  {source.title} — {source.source}", style="dim"))
        return Panel(Group(*parts), title="Not in the knowledge base", border_style="yellow")
    body = Text()
    if answer.outcome == "partial":
        body.append(
            "This may not answer your question: it is the closest passage I found.\n",
            style="yellow",
        )
    for sentence in answer.sentences if with_body else []:
        if sentence.kind in ("item", "row", "more"):
            body.append("\n  • ")
        body.append(sentence.text)
        if sentence.kind != "more":
            body.append(f" {sentence.markers}", style="bold cyan")
        body.append(" ")
    if with_body:
        parts.append(body)
    if answer.note:
        parts.append(Text(f"\n{answer.note}", style="dim"))
    if answer.written is not None and answer.written.kept:
        parts.append(
            Text(
                f"Written by {answer.written.model} from the sources below; every sentence "
                "was checked against the source it cites.",
                style="dim",
            )
        )
    if answer.checklist:
        link = answer.checklist
        parts.append(
            Text.from_markup(
                f"\n[bold]Checklist:[/bold] {escape(link.title)} — {link.item_count} items in "
                f"{link.section_count} sections — {escape(link.source)}"
            )
        )
    lines = [Text("\nSources", style="bold")]
    for source in answer.sources:
        line = Text(f"[{source.number}] " if source.cited else "    see also: ", style="cyan")
        line.append(source.title, style="bold" if source.cited else "")
        line.append(f" — {source.source}")
        if source.owner:
            line.append(f" — owner: {source.owner}", style="dim")
        if source.stale and source.review_by:
            line.append(f" ⚠ review was due {source.review_by.isoformat()}", style="red")
        elif source.verified_by and source.verified_on:
            when = source.verified_on.isoformat()
            line.append(f" ✓ verified by {source.verified_by} on {when}", style="green")
        lines.append(line)
    parts.extend(lines)
    if answer.outcome == "partial":
        return Panel(Group(*parts), title="Closest passage", border_style="yellow")
    return Panel(Group(*parts), title="Answer", border_style="green")


def passages_table(passages: list[Passage]) -> Table:
    table = Table(show_lines=False)
    for column in ("#", "fused", "cosine", "bm25", "document", "section", "passage"):
        table.add_column(column, overflow="fold")
    for rank, passage in enumerate(passages, 1):
        chunk = passage.chunk
        table.add_row(
            str(rank),
            f"{passage.score:.4f}",
            "-" if passage.similarity is None else f"{passage.similarity:.3f}",
            "-" if passage.keyword_score is None else f"{passage.keyword_score:.2f}",
            chunk.doc_id,
            chunk.heading or "-",
            chunk.text[:160].replace("\n", " ") + ("…" if len(chunk.text) > 160 else ""),
        )
    return table


def print_ingest_report(console: Console, report: IngestReport) -> None:
    for result in report.results:
        if result.outcome is Outcome.FAILED:
            console.print(f"[red]failed[/red] {escape(result.path)}: {escape(result.reason)}")
        for note in result.notes:
            console.print(f"[dim]note[/dim] {escape(result.path)}: {escape(note)}")
        if result.warning:
            console.print(
                f"[yellow]warning[/yellow] {escape(result.path)}: {escape(result.warning)}"
            )
    for source in report.failed_sources:
        console.print(
            f"[red]source failed[/red] {escape(source.name)} ({source.kind}): "
            f"{escape(source.error or '')} (its last synced content stays in the index)"
        )
    failed = report.failed or report.failed_sources
    style = "red" if failed else "yellow" if report.warned else "green"
    console.print(
        f"[{style}]Ingest: {report.summary()}; index holds {report.chunks_total} chunks[/{style}]"
    )


def print_source_summary(console: Console, report: IngestReport) -> None:
    """One row per source: what was listed, what changed, and why a source failed."""
    from rich.table import Table

    table = Table("source", "type", "listed", *(o.value for o in Outcome), "status")
    for source in report.sources:
        mine = [r for r in report.results if r.source == source.name]
        counts = [str(sum(1 for r in mine if r.outcome is o)) for o in Outcome]
        if source.failed:
            status = f"[red]failed: {escape(source.error or '')}[/red] (last content kept)"
        elif any(r.outcome is Outcome.FAILED for r in mine):
            status = "[yellow]some documents failed[/yellow]"
        else:
            status = "[green]ok[/green]"
        table.add_row(escape(source.name), source.kind, str(source.listed), *counts, status)
    console.print(table)
