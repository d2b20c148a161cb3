"""`coe docs …`: documents due for review, their owners, and an owner's verification."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from bot.enablement.reviews import DocumentState
    from bot.settings import Settings
    from ingest.records import FileEntry

app = typer.Typer(
    help="Documents: which are due for review, who owns them, verifications.",
    no_args_is_help=True,
)
out = Console()

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Index folder [default: COE_DATA_DIR]")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _load(data_dir: Path | None) -> tuple[Settings, dict[str, FileEntry], list[DocumentState]]:
    from bot.cli.main import _fail, _settings, build
    from bot.enablement.reviews import OwnersFileError, document_states, load_owners
    from ingest.index_store import current_generation, read_manifest

    settings = _settings(data_dir)
    if current_generation(settings.data_dir) is None:
        raise _fail(f"no index in {settings.data_dir} yet: run `coe ingest` first")
    entries = read_manifest(settings.data_dir).by_source()
    try:
        owners = load_owners(settings.owners_file)
    except OwnersFileError as error:
        raise _fail(str(error)) from None
    reviews = build(settings).reviews.reviews()
    return settings, entries, document_states(entries, reviews, owners)


def _as_json(state: DocumentState) -> dict:
    review = state.review
    return {
        "key": state.key,
        "title": state.title,
        "owner": state.owner,
        "owner_slack": state.owner_slack,
        "link": state.link,
        "review_by": state.review_by.isoformat() if state.review_by else None,
        "status": review.status.value if review else None,
        "verified_by": review.verified_by if review else None,
        "verified_on": review.verified_on.isoformat() if review and review.verified_on else None,
        "note": review.note if review else None,
    }


@app.command()
def stale(
    within: Annotated[
        int | None,
        typer.Option("--within", help="Days ahead [default: COE_REVIEW_NOTICE_DAYS]", min=0),
    ] = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Documents past their review date, or due within the notice period, oldest first."""
    settings, _entries, states = _load(data_dir)
    notice = settings.review_notice_days if within is None else within
    today = date.today()
    due = sorted((s for s in states if s.due(today, notice)), key=lambda s: (s.review_by, s.key))
    if as_json:
        print(json.dumps([_as_json(s) for s in due], indent=2))
        return
    if not due:
        out.print(f"No document is due for review in the next {notice} days.")
        return
    table = Table("review by", "document", "owner", "Slack", "status")
    for state in due:
        late = state.review_by is not None and state.review_by < today
        when = state.review_by.isoformat() if state.review_by else ""
        table.add_row(
            f"[red]{when}[/red]" if late else when,
            f"{escape(state.title)}\n[dim]{escape(state.key)}[/dim]",
            escape(state.owner or "(no owner)"),
            state.owner_slack or "[yellow]not mapped[/yellow]",
            escape(state.review.status.value) if state.review else "",
        )
    out.print(table)


@app.command()
def verify(
    document: Annotated[str, typer.Argument(help="The document's key or path (coe docs stale)")],
    by: Annotated[str, typer.Option("--by", help="Who checked it (a name or Slack id)")],
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record that a document is still accurate: its review date moves `review_every` days
    (front matter; 180 by default) past today."""
    from bot.cli.main import _fail, build

    settings, entries, _states = _load(data_dir)
    matches = [k for k, e in entries.items() if document in (k, e.doc_id, e.path)]
    if len(matches) != 1:
        near = [k for k in entries if document.casefold() in k.casefold()][:5]
        hint = f"; did you mean: {', '.join(near)}" if near else ""
        raise _fail(f"no single document is {document!r}{hint}")
    key = matches[0]
    review = build(settings).reviews.verify(key, entries[key], by, date.today())
    if as_json:
        print(json.dumps({"key": key, "review_by": str(review.review_by), "verified_by": by}))
        return
    out.print(
        f"Verified by {escape(by)}: {escape(entries[key].title)} is next due for review on "
        f"{review.review_by}."
    )


@app.command()
def owners(data_dir: DataDirOption = None, as_json: JsonOption = False) -> None:
    """Each owner, their documents, how many are due, and whether reminders can reach them."""
    settings, _entries, states = _load(data_dir)
    today = date.today()
    grouped: dict[str, list[DocumentState]] = {}
    for state in states:
        grouped.setdefault(state.owner or "(no owner)", []).append(state)
    rows: list[dict[str, Any]] = [
        {
            "owner": owner,
            "owner_slack": sorted({s.owner_slack for s in docs if s.owner_slack}) or None,
            "documents": len(docs),
            "due": sum(1 for s in docs if s.due(today, settings.review_notice_days)),
        }
        for owner, docs in sorted(grouped.items())
    ]
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table("owner", "Slack", "documents", "due")
    for row in rows:
        slack = ", ".join(row["owner_slack"] or []) or "[yellow]not mapped[/yellow]"
        table.add_row(escape(str(row["owner"])), slack, str(row["documents"]), str(row["due"]))
    out.print(table)


@app.command()
def notify(data_dir: DataDirOption = None) -> None:
    """Send the review reminders due now, without waiting for `coe serve`'s check (each
    document's owner gets one per review date, however often this runs)."""
    from bot.cli.main import _fail, _settings, build
    from bot.slack.app import SlackConfigError, build_app

    settings = _settings(data_dir)
    try:
        slack = build_app(build(settings))
    except SlackConfigError as error:
        raise _fail(str(error)) from None
    assert slack.reviews is not None
    queued = slack.reviews.queue_due()
    pending = slack.deliverer.outbox.counts().get("pending", 0)
    out.print(f"{queued} new reminder(s) sent; {pending} message(s) still waiting to be sent.")
