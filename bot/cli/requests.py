"""`coe requests …`: the consultation queue for CoE staff, from a terminal."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Typer reads the option types when it builds the CLI, so Status is needed at import; its
# module is pydantic-free. The service, the database and the settings load in the commands.
from bot.consultations.status import Status

if TYPE_CHECKING:
    from bot.consultations.service import ConsultationService

app = typer.Typer(
    help="Consultation requests: list, inspect, triage, export.", no_args_is_help=True
)
out = Console()
err = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ActorOption = Annotated[
    str, typer.Option("--as", help="Your Slack user id (must be in COE_STAFF_USER_IDS)")
]
EXPORT_FIELDS = [
    "public_id",
    "status",
    "type",
    "urgency",
    "priority",
    "title",
    "team",
    "requester_id",
    "assignee_id",
    "created_at",
    "first_response_at",
    "resolved_at",
    "overdue",
    "posted",
    "description",
    "links",
]


def _service() -> ConsultationService:
    from bot.container import build
    from bot.settings import load_settings

    return build(load_settings()).consultations()


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)


@app.command("list")
def list_requests(
    status: Annotated[Status | None, typer.Option(help="Only this status")] = None,
    assignee: Annotated[
        str | None, typer.Option(help="Only those assigned to this user id")
    ] = None,
    unassigned: Annotated[bool, typer.Option(help="Only open, unassigned requests")] = False,
    overdue: Annotated[
        bool, typer.Option(help="Only requests past the first-response target")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List requests, newest first."""
    views = _service().list(
        status=status, assignee_id=assignee, unassigned=unassigned, overdue=overdue
    )
    if as_json:
        print(json.dumps([v.model_dump(mode="json", exclude={"history"}) for v in views], indent=2))
        return
    table = Table()
    for column in ("id", "status", "type", "title", "requester", "assignee", "created", "note"):
        table.add_column(column)
    for v in views:
        note = "overdue" if v.overdue else ("not posted" if not v.posted else "")
        table.add_row(
            v.public_id,
            v.status.label,
            v.type.label,
            v.title,
            v.requester_id,
            v.assignee_id or "-",
            v.created_at.strftime("%Y-%m-%d %H:%M"),
            note,
        )
    out.print(table)


@app.command()
def show(reference: str, as_json: JsonOption = False) -> None:
    """One request with its full history."""
    from bot.consultations.service import RequestNotFoundError

    try:
        view = _service().get(reference)
    except RequestNotFoundError as error:
        raise _fail(str(error)) from None
    if as_json:
        print(view.model_dump_json(indent=2))
        return
    out.print(f"[bold]{view.public_id}[/bold] {escape(view.title)} — {view.status.label}")
    out.print(
        f"{view.type.label} · urgency {view.urgency.value} · team {escape(view.team)} · "
        f"from {view.requester_id} · assignee {view.assignee_id or '-'}"
    )
    out.print(escape(view.description))
    for entry in view.history:
        out.print(
            f"  {entry.at:%Y-%m-%d %H:%M} {entry.actor_id} {entry.kind} {escape(json.dumps(entry.detail))}"
        )


def _triage(action) -> None:
    from bot.consultations.service import NotStaffError, RequestNotFoundError

    try:
        view = action()
    except (RequestNotFoundError, NotStaffError, ValueError) as error:
        raise _fail(str(error)) from None
    out.print(f"{view.public_id}: {view.status.label}, assignee {view.assignee_id or '-'}")
    err.print(
        "[dim]The triage message in Slack is refreshed the next time the app touches it.[/dim]"
    )


@app.command()
def assign(reference: str, assignee: str, actor: ActorOption) -> None:
    """Assign a request to a Slack user id."""
    _triage(lambda: _service().assign(reference, actor, assignee))


@app.command("status")
def set_status(reference: str, status: Status, actor: ActorOption) -> None:
    """Move a request to another status."""
    _triage(lambda: _service().set_status(reference, actor, status))


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--out", help="File to write [default: stdout]")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
) -> None:
    """Every request, for a spreadsheet or another tool."""
    views = _service().list(limit=100_000)
    if fmt == "json":
        text = json.dumps([v.model_dump(mode="json") for v in views], indent=2)
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for v in views:
            row = v.model_dump(mode="json")
            row["links"] = " ".join(v.links)
            writer.writerow({k: row.get(k) for k in EXPORT_FIELDS})
        text = buffer.getvalue()
    else:
        raise _fail("--format must be csv or json")
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"Wrote {len(views)} requests to {output}")
    else:
        print(text, end="")


@app.command()
def repost() -> None:
    """Post requests that Slack refused earlier to the triage channel now."""
    from bot.settings import load_settings
    from bot.slack.delivery import Deliverer, delivery_client
    from bot.slack.triage import TriageNotifier
    from bot.work.outbox import Outbox

    settings = load_settings()
    if not settings.slack_bot_token:
        raise _fail("SLACK_BOT_TOKEN is not set")
    service = _service()
    # The same claimed outbox the server uses: running this next to `coe serve` (or twice)
    # never posts a card twice.
    deliverer = Deliverer(
        delivery_client(settings.slack_bot_token, settings.slack_api_url, settings.slack_timeout_s),
        Outbox(service.store, lease_s=settings.slack_timeout_s + 15),
        renderers={},
    )
    notifier = TriageNotifier(deliverer, service, settings.triage_channel_id)
    posted, failed = notifier.repost_pending()
    out.print(f"Reposted {posted} request(s); {failed} still waiting.")
    if failed:
        raise typer.Exit(1)
