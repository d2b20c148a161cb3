"""`coe checklists …`: checklist runs across channels, for CoE staff."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    help="Checklist runs: progress across channels, evidence for requests.", no_args_is_help=True
)
out = Console()


def _runs():
    from bot.container import build
    from bot.settings import load_settings

    return build(load_settings()).checklist_runs


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every checklist run with its progress."""
    runs = _runs().all(limit=10_000)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "run": r.id,
                        "title": r.title,
                        "channel": r.channel_id,
                        "done": len(r.done),
                        "total": r.total,
                        "version": r.version,
                        "request_id": r.request_id,
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
        return
    table = Table()
    for column in ("run", "checklist", "channel", "progress", "version", "request"):
        table.add_column(column)
    for r in runs:
        table.add_row(
            str(r.id),
            r.title,
            r.channel_id,
            f"{len(r.done)} of {r.total}",
            r.version,
            f"CR-{r.request_id:04d}" if r.request_id else "-",
        )
    out.print(table)


@app.command()
def attach(run_id: int, request: str) -> None:
    """Attach a checklist run to a consultation request as evidence."""
    from bot.consultations.service import RequestNotFoundError, parse_reference

    try:
        number = parse_reference(request)
        _runs().attach(run_id, number)
    except (LookupError, RequestNotFoundError) as error:
        Console(stderr=True).print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    out.print(f"Run {run_id} is now evidence for CR-{number:04d}.")
