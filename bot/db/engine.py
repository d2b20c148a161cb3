"""Engine creation and migrations (applied automatically at start-up)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text

MIGRATIONS = Path(__file__).with_name("migrations")
# How long a normal transaction waits for a lock or a connection before giving up.
WAIT_S = 30.0
# Work done while Slack waits for our acknowledgement (3 s) must fail fast instead.
QUICK_WAIT_S = 2.0
# Any fixed number: replicas starting together take turns at migrating PostgreSQL.
_MIGRATION_LOCK = 7_401_552


def database_url(configured: str | None, data_dir: Path) -> str:
    if configured:
        return configured
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(data_dir).resolve() / 'coe.db'}"


def make_engine(url: str, wait_s: float = WAIT_S) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": wait_s, "isolation_level": None},
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            # WAL lets the Slack workers write while the CLI reads; FKs are off by default.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL survives any crash of this process (what losing a question
            # would take) and skips an fsync per commit; only an OS crash may drop the last
            # commits. Acks wait on these commits, so the fsync mattered (p95 490 → see
            # benchmarks/RESULTS.md).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection) -> None:
            # Take the write lock up front: read-then-update transactions (two staff acting on
            # one request) then queue instead of failing with "database is locked".
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    wait_ms = int(wait_s * 1000)
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": max(1, int(wait_s)),
            "options": f"-c lock_timeout={wait_ms} -c statement_timeout={wait_ms * 2}",
        },
    )


def quick_engine(engine: Engine) -> Engine:
    """The same database with short waits, for work done before Slack is acknowledged."""
    return make_engine(engine.url.render_as_string(hide_password=False), wait_s=QUICK_WAIT_S)


def upgrade(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two replicas migrating a fresh database at once race on CREATE TABLE.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
