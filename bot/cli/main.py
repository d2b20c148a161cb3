"""`coe`: the assistant from a terminal — ingest, ask, search, chat, eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

# Only what declaring the commands needs is imported here: `coe --help` and `coe requests …`
# must not pay for settings (pydantic), the database or the answering stack. Each command
# imports its own. ingest.errors is plain exception classes.
from ingest.errors import (
    IndexCorruptError,
    IndexMissingError,
    IngestBusyError,
    RebuildRefusedError,
)

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.status import Status

    from bot.container import Services
    from bot.settings import Settings
    from ingest.sources.base import Source

app = typer.Typer(
    help="CoE Assistant: grounded answers from the AI CoE knowledge base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Index and database folder [env: COE_DATA_DIR]")
]
StaffOption = Annotated[
    bool, typer.Option("--staff", help="Include documents meant for CoE staff only.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]

PROGRESS_FROM_CHUNKS = 50
SHARED_INDEX_WAIT_S = 300.0


def _settings(data_dir: Path | None) -> Settings:
    from pydantic import ValidationError

    from bot.settings import load_settings

    try:
        settings = load_settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise _fail(f"invalid settings: {problems}") from None
    if data_dir is not None:
        settings.data_dir = data_dir
    return settings


class _RichProgress:
    """A progress bar for long embedding runs; short ones only get the summary line."""

    def __init__(self, console: Console, what: str = "chunks") -> None:
        self._console = console
        self._what = what
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._status: Status | None = None
        self._read = 0

    def reading(self, source: str, item: str) -> None:
        """A spinner naming the item being read, while a sync reads a slow service."""
        from rich.markup import escape

        self._read += 1
        text = f"[dim]{escape(source)}: {self._read} read, now {escape(item[:80])}[/dim]"
        if self._status is None:
            if not self._console.is_terminal:
                return  # logs and pipes get the summary, not a line per document
            self._status = self._console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _stop_reading(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def start(self, total: int) -> None:
        self._stop_reading()
        if total < PROGRESS_FROM_CHUNKS:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(self._what),
            TimeRemainingColumn(),
            console=self._console,
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task("embed", total=total)

    def advance(self, amount: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)

    def stop(self) -> None:
        self._stop_reading()
        if self._bar is not None:
            self._bar.stop()


def build(settings: Settings) -> Services:
    """bot.container's, imported on first use (see the imports at the top)."""
    from bot.container import build

    return build(settings)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(code)


def _finish_generation(settings: Settings, only_missing: bool = False):
    """What `coe ingest` adds to a finished generation before readers see it: the vectors of
    its quotable pieces, then (if enabled) the answer rule fitted to it. Each step that fails
    is reported and skipped: answers still work, a little slower or on the shipped rule."""

    def finish(data_dir: Path, name: str) -> None:
        from bot.answering.decision import CALIBRATION_NAME
        from bot.answering.quotes import has_quote_vectors, write_quote_vectors
        from ingest.embedding import shared_embedder
        from ingest.index_store import current_generation, generation_dir

        if not (only_missing and has_quote_vectors(data_dir, name)):
            try:
                stored, embedded = write_quote_vectors(
                    data_dir,
                    name,
                    shared_embedder().embed,
                    previous=current_generation(data_dir),
                    progress=_RichProgress(err, "quotable pieces"),
                )
                # A phase line like the pipeline's, for operators tailing the log.
                print(
                    f"[ingest] quote vectors: {stored} pieces, {embedded} embedded now",
                    file=sys.stderr,
                    flush=True,
                )
            except Exception as error:
                _warn("Could not store the quote vectors (answers embed them as they go)", error)
        calibrated = (generation_dir(data_dir, name) / CALIBRATION_NAME).exists()
        if settings.auto_calibrate and not (only_missing and calibrated):
            from bot.evaluation.autocalibrate import calibrate_generation

            try:
                calibrate_generation(data_dir, name)
            except Exception as error:  # the index is fine; answers use the shipped rule
                _warn("Could not fit the answer rule to this index", error)

    return finish


def _follow_shared(settings: Settings, shared) -> bool:
    """Copies the shared index's newest generation here; True when there is one to answer
    from. With none published yet, waits for an ingest running elsewhere rather than racing
    it; with the shared index out of reach, answers from the copy on this disk if there is one."""
    import time

    from bot.work.claims import JobClaims
    from ingest.index_store import current_generation

    started = time.monotonic()
    while True:
        try:
            if shared.sync() is not None:
                return True
            break
        except Exception as error:  # Chroma or the database not up yet, or vectors lost
            reason = escape(_first_line(error))
            if current_generation(settings.data_dir) is not None:
                err.print(
                    f"[yellow]Cannot copy the shared index ({reason}); answering from the copy "
                    "on this disk until it can.[/]"
                )
                return True
            if isinstance(error, IndexCorruptError):
                raise _fail(f"cannot copy the shared index: {error}") from None
            if time.monotonic() - started > SHARED_INDEX_WAIT_S:
                raise _fail(f"cannot reach the shared index: {_first_line(error)}") from None
            err.print(f"[dim]Waiting for the shared index ({reason})…[/dim]")
            time.sleep(5)
    deadline = time.monotonic() + 600
    while JobClaims(shared.store).holder("ingest") is not None:
        if time.monotonic() > deadline:
            raise _fail("waited 10 minutes for another ingest to publish the first index")
        err.print("[dim]Waiting for the ingest running elsewhere to publish the index…[/dim]")
        time.sleep(5)
        if shared.sync() is not None:
            return True
    return False


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def _warn(what: str, error: Exception) -> None:
    from rich.markup import escape

    err.print(f"[yellow]{what}:[/] {escape(str(error))}")


def _configured_sources(settings: Settings, only: str | None = None) -> list[Source]:
    """The sources of COE_SOURCES_FILE (or the one named `only`); exits on a bad file."""
    from ingest.sources.config import SourcesFileError, build_source, load_sources_file

    assert settings.sources_file is not None
    try:
        listed = load_sources_file(settings.sources_file)
        entries = [listed.named(only)] if only else listed.sources
    except SourcesFileError as error:
        raise _fail(str(error)) from None
    return [build_source(entry, settings.data_dir) for entry in entries]


def _knowledge(settings: Settings) -> tuple[list[Path], list[Source]]:
    """What to ingest when no path is given: the sources file's entries, else the folders."""
    if settings.sources_file is not None:
        return [], _configured_sources(settings)
    return list(settings.knowledge_paths), []


def _run_ingest(
    settings: Settings,
    paths: list[Path],
    rebuild: bool = False,
    services: Services | None = None,
    wait_if_busy: bool = False,
    sources: list[Source] | None = None,
    complete: bool | None = None,
):
    """`wait_if_busy`: when another ingest is publishing to the shared index, wait for its
    generation instead of failing (a replica starting on an empty index)."""
    from contextlib import nullcontext

    from bot.cli.render import print_ingest_report
    from ingest.pipeline import run_ingest

    shared = (services or build(settings)).shared_index
    progress = _RichProgress(err)
    try:
        with shared.publishing(rebuild) if shared is not None else nullcontext():
            floor = 0
            if shared is not None and rebuild and (newest := shared.newest()) is not None:
                floor = newest.number  # this disk may be behind, or empty
            report = run_ingest(
                paths,
                settings.data_dir,
                settings.max_file_bytes,
                progress,
                follow_symlinks=settings.follow_symlinks,
                limits=settings.parse_limits,
                rebuild=rebuild,
                before_publish=_finish_generation(settings),
                chroma_url=settings.chroma_url,
                publish=shared.publish if shared is not None else None,
                generation_floor=floor,
                sources=sources,
                on_item=progress.reading,
                # Every source of the file: what none of them owns left the file.
                complete=(not paths and settings.sources_file is not None)
                if complete is None
                else complete,
            )
            progress.stop()
            if report.generation and not report.published:
                # Nothing changed, but the index may predate quote vectors or calibration (or
                # have had calibration off): add what is missing; servers pick it up with the
                # next one.
                _finish_generation(settings, only_missing=True)(
                    settings.data_dir, report.generation
                )
                if shared is not None and not shared.publish_existing():
                    shared.attach_files(report.generation)
    except IngestBusyError as error:
        if wait_if_busy and shared is not None and _follow_shared(settings, shared):
            return None
        raise _fail(str(error)) from None
    except IndexCorruptError as error:
        raise _fail(f"{error}. Run `coe ingest --rebuild` to build the index again.") from None
    except RebuildRefusedError as error:
        raise _fail(str(error), code=1) from None
    except typer.Exit:
        raise
    except Exception as error:
        if shared is None:
            raise
        raise _fail(
            f"the shared index cannot be used ({_first_line(error)}); check that the Chroma "
            f"server at {settings.chroma_url} and the database are reachable"
        ) from None
    finally:
        progress.stop()
    print_ingest_report(err, report)
    return report


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to ingest [default: COE_KNOWLEDGE_DIRS]"),
    ] = None,
    data_dir: DataDirOption = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Read and embed everything anew (a running server keeps answering meanwhile).",
        ),
    ] = False,
) -> None:
    """Index documents (md, txt, html, pdf, docx); unchanged files are skipped."""
    settings = _settings(data_dir)
    roots, sources = (list(paths), []) if paths else _knowledge(settings)
    report = _run_ingest(settings, roots, rebuild=rebuild, sources=sources)
    if report.failed or report.failed_sources:
        raise typer.Exit(1)


def _service(settings: Settings, services: Services | None = None):
    """The answering service, ingesting the configured knowledge base on first use."""
    from ingest.index_store import current_generation

    services = services or build(settings)
    shared = services.shared_index
    if shared is not None:
        if not _follow_shared(settings, shared):
            err.print("[dim]No index published yet: ingesting the knowledge base first…[/dim]")
            roots, sources = _knowledge(settings)
            _run_ingest(settings, roots, services=services, wait_if_busy=True, sources=sources)
    elif current_generation(settings.data_dir) is None:
        err.print("[dim]No index yet: ingesting the knowledge base first (one time only)…[/dim]")
        roots, sources = _knowledge(settings)
        _run_ingest(settings, roots, services=services, sources=sources)
    service = (services or build(settings)).answers
    try:
        service.index  # noqa: B018 - opens the index now so damage is reported up front
    except IndexMissingError as error:
        raise _fail(str(error)) from None
    except IndexCorruptError as error:
        raise _fail(f"{error}. Run `coe ingest --rebuild` to build the index again.") from None
    return service


def _print_answer(answer, as_json: bool) -> None:
    if as_json:
        out.print_json(answer.model_dump_json())
        return
    from bot.cli.render import answer_renderable

    out.print(answer_renderable(answer))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    data_dir: DataDirOption = None,
    staff: StaffOption = False,
    as_json: JsonOption = False,
) -> None:
    """Answer one question with citations, or say that the knowledge base does not cover it."""
    from bot.answering.service import EmptyQuestionError

    service = _service(_settings(data_dir))
    try:
        answer = service.ask(question, staff=staff)
    except EmptyQuestionError as error:
        raise _fail(str(error)) from None
    _print_answer(answer, as_json)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    data_dir: DataDirOption = None,
    staff: StaffOption = False,
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many passages.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show the ranked passages behind an answer, with their scores (for debugging)."""
    from bot.cli.render import passages_table

    if not query.strip():
        raise _fail("give something to search for")
    passages = _service(_settings(data_dir)).passages(query, staff, k)
    if as_json:
        rows = [
            {
                "rank": rank,
                "score": p.score,
                "similarity": p.similarity,
                "keyword_score": p.keyword_score,
                "doc_id": p.chunk.doc_id,
                "title": p.chunk.title,
                "heading": p.chunk.heading,
                "text": p.chunk.text,
            }
            for rank, p in enumerate(passages, 1)
        ]
        out.print_json(json.dumps(rows))
        return
    out.print(passages_table(passages))


@app.command()
def chat(
    data_dir: DataDirOption = None,
    staff: StaffOption = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per question (the `coe ask --json` shape plus `outcome`).",
        ),
    ] = False,
) -> None:
    """A console chat; questions can also be piped in, one per line."""
    service = _service(_settings(data_dir))
    interactive = sys.stdin.isatty() and not as_json
    if interactive:
        out.print(
            "[bold]CoE Assistant[/bold] — ask about CoE standards, checklists and "
            "playbooks. Empty line or Ctrl-D to leave."
        )
    else:
        service.warm_up()
    turns: list[tuple[str, str]] = []  # earlier questions, for a model to rewrite follow-ups
    while True:
        try:
            line = (
                out.input("[bold green]you ›[/bold green] ")
                if interactive
                else sys.stdin.readline()
            )
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and line == "":
            break
        question = line.strip()
        if not question:
            if interactive:
                break
            continue
        if as_json or service.writer is None:
            answer = service.ask(question, staff=staff)
            if as_json:
                # One line per question, so scripts can stream it (JSON Lines).
                print(answer.model_dump_json(), flush=True)
                continue
            if not interactive:
                out.print(f"[bold green]you ›[/bold green] {escape(question)}")
            out.print(_render(answer))
            continue
        if not interactive:
            out.print(f"[bold green]you ›[/bold green] {escape(question)}")
        answer = _stream_to_terminal(service, question, staff, turns)
        turns = [*turns, (question, answer.answer if answer else "")][-3:]


def _stream_to_terminal(service, question: str, staff: bool, turns: list):
    """Prints each verified sentence as the model's answer is checked, then the sources."""
    from bot.answering.events import Caveat, Final, Status, Verified
    from bot.cli.render import answer_renderable

    shown = 0
    previous = None
    with out.status("searching the knowledge base…") as status:
        for event in service.stream(question, staff=staff, turns=turns):
            if isinstance(event, Status):
                status.update(event.text)
            elif isinstance(event, Caveat):
                out.print(f"[yellow]{escape(event.text)}[/yellow]")
            elif isinstance(event, Verified):
                if shown == 0:
                    status.stop()
                sentence = event.sentence
                prefix = (
                    "\n  • "
                    if sentence.kind == "item"
                    else ("" if shown == 0 else "\n" if previous == "item" else " ")
                )
                previous = sentence.kind
                out.print(
                    f"{prefix}{escape(sentence.text)} [bold cyan]{sentence.markers}[/bold cyan]",
                    end="",
                )
                shown += 1
            elif isinstance(event, Final):
                status.stop()
                if shown:
                    out.print()
                out.print(answer_renderable(event.answer, with_body=shown == 0))
                return event.answer
    return None


def _render(answer):
    from bot.cli.render import answer_renderable

    return answer_renderable(answer)


@app.command(name="eval")
def evaluate(
    data_dir: DataDirOption = None,
    golden: Annotated[
        Path | None, typer.Option("--golden", help="Golden set [default: knowledge/eval]")
    ] = None,
    calibrate: Annotated[
        bool, typer.Option("--calibrate", help="Refit the abstention threshold and save it.")
    ] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline/--no-baseline", help="Compare with dense-only retrieval.")
    ] = True,
    llm: Annotated[
        bool,
        typer.Option(
            "--llm", help="Also answer with the configured model (COE_LLM_*), side by side."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Measure retrieval and abstention on the golden set; non-zero exit below thresholds.

    Thresholds apply to the extractive answers; `--llm` adds the model's figures beside them."""
    from bot.evaluation.runner import run_evaluation

    settings = _settings(data_dir)
    if llm and not settings.llm_configured:
        raise _fail("`--llm` needs a model: set COE_LLM_BASE_URL and COE_LLM_MODEL")
    service = _service(settings)
    report = run_evaluation(service, golden, calibrate=calibrate, baseline=baseline, llm=llm)
    if as_json:
        out.print_json(report.model_dump_json())
    else:
        from bot.evaluation.render import print_report

        print_report(out, report)
    if not report.passed:
        raise typer.Exit(1)


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", help="HTTP port (HTTP mode)")] = 3000,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on")] = "0.0.0.0",
    data_dir: DataDirOption = None,
) -> None:
    """Run the Slack app: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP."""
    import logging

    from bot.logs import configure as configure_logging
    from bot.slack.app import SlackConfigError, build_app, check_settings
    from bot.slack.server import serve_http, serve_socket_mode

    settings = _settings(data_dir)
    configure_logging(settings.log_format)
    try:
        check_settings(settings)
    except SlackConfigError as error:
        raise _fail(str(error)) from None
    services = build(settings)
    try:
        services.store  # noqa: B018 - opens and migrates the database now, to report problems
    except Exception as error:  # OperationalError, a bad URL…: say what to fix, no traceback
        raise _fail(_database_problem(settings, error)) from None
    if settings.sync_every_min is not None:
        _knowledge(settings)  # a broken sources file stops the start, with its message
    service = _service(settings, services)
    service.warm_up()  # load the model before the first question, not during it
    if service.writer is not None:
        err.print(
            f"Answers are written by {escape(service.writer.model_name)} at "
            f"{escape(settings.llm_base_url or '')} and checked against the sources "
            "(`coe llm check` tries it)"
        )
    try:
        slack = build_app(services)
    except SlackConfigError as error:
        raise _fail(str(error)) from None
    # Resumes questions and messages a previous run left unfinished, then keeps sweeping.
    slack.start_background(settings.sweep_interval_s)
    if services.shared_index is not None:
        # Every replica follows the generation the newest ingest published, wherever it ran.
        import threading

        services.shared_index.follow(settings.index_sync_s, threading.Event())
    if settings.sync_every_min is not None:
        _start_source_sync(settings, services, settings.sync_every_min * 60)
    if settings.socket_mode:
        err.print("CoE Assistant is connecting to Slack in Socket Mode…")
        if not serve_socket_mode(
            slack, settings.slack_app_token or "", settings.shutdown_timeout_s
        ):
            import os

            logging.shutdown()
            os._exit(0)
    else:
        err.print(f"CoE Assistant listens on http://{host}:{port}/slack/events")
        finished = serve_http(
            slack, host, port, settings.max_request_kb * 1024, settings.shutdown_timeout_s
        )
        if not finished:
            # A worker is stuck in a Slack call: do not let the interpreter wait for it. Its
            # work is leased in the database and resumed by the next start.
            import os

            logging.shutdown()
            os._exit(0)


SOURCE_SYNC_JOB = "source-sync"


def _sync_job_name(settings: Settings, services: Services) -> str:
    """One job for all replicas when they share the index (one sync serves them all); one
    per data folder otherwise, since each replica then answers from its own index."""
    if services.shared_index is not None:
        return SOURCE_SYNC_JOB
    import hashlib
    import socket

    here = f"{socket.gethostname()}:{settings.data_dir.resolve()}"
    return f"{SOURCE_SYNC_JOB}@{hashlib.sha256(here.encode()).hexdigest()[:16]}"


def _start_source_sync(settings: Settings, services: Services, every_s: float) -> None:
    """Syncs the sources every `every_s`, on whichever replica claims the job first: with
    several replicas (sharing the index through COE_CHROMA_URL) each period syncs once."""
    import logging
    import threading
    import time

    log = logging.getLogger("bot.sources")
    name = _sync_job_name(settings, services)

    def job() -> None:
        log.info("source sync started")
        try:
            roots, sources = _knowledge(settings)
            report = _run_ingest(settings, roots, services=services, sources=sources)
        except typer.Exit:
            log.warning("source sync failed; the index stays as it was (see the error above)")
            return
        if report is None:
            return
        for source in report.failed_sources:
            log.warning("source %s failed, its last content is kept: %s", source.name, source.error)
        log.info("source sync finished: %s", report.summary())

    def loop() -> None:
        while True:
            try:
                # A sync may take long: the lease covers it, and lapses for a replica that dies.
                services.claims.run_if_due(name, every_s, job, max(3600.0, every_s))
            except Exception as error:  # the database may be down: try again next round
                log.warning("source sync could not be scheduled: %s", _first_line(error))
            time.sleep(min(30.0, every_s / 4))

    threading.Thread(target=loop, name="coe-source-sync", daemon=True).start()


def _database_problem(settings: Settings, error: Exception) -> str:
    from sqlalchemy.engine import make_url

    from bot.db.engine import database_url

    try:
        shown = make_url(database_url(settings.database_url, settings.data_dir)).render_as_string(
            hide_password=True
        )
    except Exception:
        shown = "COE_DATABASE_URL"
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()
    return (
        f"cannot use the database {shown}: {reason[0] if reason else type(error).__name__}. "
        "Check that it is running and reachable, and COE_DATABASE_URL."
    )


@app.command()
def manifest(
    url: Annotated[
        str | None, typer.Option("--url", help="Public base URL of `coe serve` (HTTP mode)")
    ] = None,
    socket_mode: Annotated[
        bool | None,
        typer.Option(
            "--socket-mode/--http", help="Default: Socket Mode when SLACK_APP_TOKEN is set"
        ),
    ] = None,
) -> None:
    """Print the Slack app manifest (JSON) for creating the app at api.slack.com/apps."""
    from bot.settings import load_settings
    from bot.slack.app import listener_registry
    from bot.slack.manifest import build_manifest

    use_socket = load_settings().socket_mode if socket_mode is None else socket_mode
    print(json.dumps(build_manifest(listener_registry(), url, use_socket), indent=2))


@app.command()
def report(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for report.md and the charts")],
    data_dir: DataDirOption = None,
) -> None:
    """Write the impact report (Markdown + PNG charts) for a period."""
    from datetime import date

    from bot.enablement.metrics import compute_metrics
    from bot.enablement.report import write_report
    from ingest.embedding import shared_embedder

    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as error:
        raise _fail(f"dates are YYYY-MM-DD: {error}") from None
    if last < first:
        raise _fail("--to is before --from")
    store = build(_settings(data_dir)).store
    metrics = compute_metrics(store, first, last, embed=lambda q: shared_embedder().embed(q))
    path = write_report(metrics, out_dir)
    err.print(
        f"Wrote {path} and {len(list(out_dir.glob('*.png')))} charts "
        f"({metrics.questions} questions, {metrics.consultations_opened} requests)."
    )


@app.command()
def purge(
    days: Annotated[
        int | None, typer.Option("--older-than", help="Days to keep [default: COE_RETENTION_DAYS]")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete recorded questions, feedback and finished deliveries older than the retention period."""
    from bot.enablement.retention import purge_older_than

    settings = _settings(data_dir)
    removed = purge_older_than(build(settings).store, days or settings.retention_days)
    err.print(
        f"Removed {removed['answers']} questions, {removed['feedback']} feedback records "
        f"and {removed['claims']} finished delivery records older than "
        f"{days or settings.retention_days} days."
    )


from bot.cli.requests import app as requests_app  # noqa: E402

app.add_typer(requests_app, name="requests")

from bot.cli.checklists import app as checklists_app  # noqa: E402
from bot.cli.docs import app as docs_app  # noqa: E402
from bot.cli.llm import app as llm_app  # noqa: E402
from bot.cli.sources import app as sources_app  # noqa: E402

app.add_typer(llm_app, name="llm")

app.add_typer(checklists_app, name="checklists")

app.add_typer(sources_app, name="sources")

app.add_typer(docs_app, name="docs")

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Apply database migrations (also done automatically at start-up)."""
    build(_settings(data_dir)).store  # noqa: B018 - opening it migrates it
    err.print("Database is up to date.")


if __name__ == "__main__":
    app()
