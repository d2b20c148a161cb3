"""`coe sources …`: the places the knowledge base is read from (COE_SOURCES_FILE)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from bot.settings import Settings
    from ingest.sources.base import Source

app = typer.Typer(
    help="Sources: folders, Git, Confluence, Google Drive, Notion (see COE_SOURCES_FILE).",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

NameArgument = Annotated[
    str | None, typer.Argument(help="One source's name [default: every source]")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _entries(settings: Settings, only: str | None = None) -> list[tuple[str, str, str, Source]]:
    """(name, type, where, source) for each configured source; without COE_SOURCES_FILE, the
    folders of COE_KNOWLEDGE_DIRS as one source named `folders`."""
    from bot.cli.main import _configured_sources, _fail
    from ingest.sources.config import describe, load_sources_file
    from ingest.sources.folder import FolderSource

    if settings.sources_file is None:
        if only not in (None, "folders"):
            raise _fail(f"no source named {only!r}: without COE_SOURCES_FILE there is 'folders'")
        folders = FolderSource(list(settings.knowledge_paths), settings.follow_symlinks, "folders")
        where = ", ".join(str(p) for p in settings.knowledge_paths)
        return [("folders", "folder", where, folders)]
    sources = _configured_sources(settings, only)
    listed = load_sources_file(settings.sources_file)
    rows: list[tuple[str, str, str, Source]] = []
    for source in sources:
        entry = listed.named(source.name)
        rows.append((source.name, entry.type, describe(entry), source))
    return rows


@app.command("list")
def list_sources(
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Index folder [default: COE_DATA_DIR]")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The configured sources, and how many of each one's documents the index holds."""
    from pathlib import Path

    from bot.cli.main import _settings
    from ingest.index_store import current_generation, read_manifest

    settings = _settings(Path(data_dir) if data_dir else None)
    rows = _entries(settings)
    entries = (
        read_manifest(settings.data_dir).by_source()
        if current_generation(settings.data_dir) is not None
        else {}
    )
    counted = [
        (name, kind, where, sum(1 for k, e in entries.items() if source.owns(k, e)))
        for name, kind, where, source in rows
    ]
    if as_json:
        shown = [{"name": n, "type": t, "where": w, "indexed": c} for n, t, w, c in counted]
        print(json.dumps(shown, indent=2))
        return
    table = Table("source", "type", "reads from", "indexed documents")
    for name, kind, where, count in counted:
        table.add_row(escape(name), kind, escape(where), str(count))
    out.print(table)


@app.command()
def check(name: NameArgument = None, as_json: JsonOption = False) -> None:
    """Reach each source, with its credentials, and count its documents (nothing is indexed)."""
    from bot.cli.main import _settings
    from ingest.sources.base import check as check_source

    settings = _settings(None)
    results = []
    for source_name, kind, _where, source in _entries(settings, name):
        if not as_json:
            err.print(f"[dim]checking {escape(source_name)} ({kind})…[/dim]")
        results.append((source_name, kind, check_source(source)))
    if as_json:
        shown = [
            {"name": n, "type": t, "ok": r.ok, "items": r.items, "error": r.detail or None}
            for n, t, r in results
        ]
        print(json.dumps(shown, indent=2))
    else:
        table = Table("source", "type", "status", "documents")
        for source_name, kind, result in results:
            status = "[green]ok[/green]" if result.ok else f"[red]{escape(result.detail)}[/red]"
            table.add_row(escape(source_name), kind, status, str(result.items) if result.ok else "")
        out.print(table)
    if not all(r.ok for _n, _t, r in results):
        raise typer.Exit(1)


@app.command()
def sync(
    name: NameArgument = None,
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Index folder [default: COE_DATA_DIR]")
    ] = None,
) -> None:
    """Fetch what changed in each source (or the one named) and index it; the other sources'
    documents stay as they are. Exits 1 when a source or a document failed."""
    from pathlib import Path

    from bot.cli.main import _run_ingest, _settings
    from bot.cli.render import print_source_summary

    settings = _settings(Path(data_dir) if data_dir else None)
    sources = [source for _n, _k, _w, source in _entries(settings, name)]
    report = _run_ingest(
        settings, [], sources=sources, complete=name is None and settings.sources_file is not None
    )
    if report is None:  # another replica's ingest published meanwhile
        return
    print_source_summary(out, report)
    if report.failed or report.failed_sources:
        raise typer.Exit(1)
