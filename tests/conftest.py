"""Shared fixtures: the real CLI run in-process, with data folders under pytest's tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["COLUMNS"] = "200"  # rich wraps at 80 columns otherwise, splitting phrases we look for
for name in list(os.environ):
    if name.startswith(("COE_", "SLACK_")):
        del os.environ[name]

import uuid  # noqa: E402

import psycopg  # noqa: E402
import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from bot.cli.main import app  # noqa: E402
from ingest import bundled_knowledge_dir  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


class Cli:
    def __init__(self) -> None:
        self._runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, env: dict | None = None):
        return self._runner.invoke(app, list(args), input=input, env=env, catch_exceptions=False)

    def json(self, *args: str, env: dict | None = None):
        result = self(*args, "--json", env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


@pytest.fixture(scope="session")
def kb_data(tmp_path_factory, cli) -> Path:
    """A data folder holding the bundled knowledge base, ingested once for the session."""
    data = tmp_path_factory.mktemp("kb-data")
    result = cli("ingest", "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    return data


@pytest.fixture()
def write(tmp_path):
    """Writes a document under tmp_path/docs and returns its path."""
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)

    def _write(name: str, content: str | bytes) -> Path:
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    _write.root = docs
    return _write


def doc(title: str, body: str, **header: str) -> str:
    """A Markdown knowledge document with front matter."""
    lines = [f"title: {title}"] + [f"{k}: {v}" for k, v in header.items()]
    return "---\n" + "\n".join(lines) + "\n---\n# " + title + "\n\n" + body + "\n"


@pytest.fixture(scope="session")
def bundled() -> Path:
    return bundled_knowledge_dir()


POSTGRES_ADMIN = os.environ.get("COE_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url():
    """A throw-away database on the local PostgreSQL (CI runs one on 127.0.0.1:5432)."""
    name = f"coe_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def fresh_postgres():
    """A database nobody has migrated yet."""
    name = f"coe_replicas_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/coe.db"
    return request.getfixturevalue("postgres_url")


def fresh_store(url: str):
    """A migrated store with no rows (PostgreSQL's database is shared by the session)."""
    from sqlalchemy import text

    from bot.db.engine import make_engine, upgrade
    from bot.db.store import Store

    engine = make_engine(url)
    upgrade(engine)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text(
                    "TRUNCATE checklist_ticks, checklist_runs, workshops, request_events, "
                    "consultation_requests, feedback, answers, question_jobs, outbox, rate_windows, "
                    "job_claims, index_files, index_chunks, index_generations, document_reviews "
                    "RESTART IDENTITY CASCADE"
                )
            )
    return Store(engine)


def wait_until(condition, timeout: float = 60.0, every: float = 0.1):
    """Polls `condition` until it returns something truthy, and returns that."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("timed out waiting")


@pytest.fixture()
def chroma(tmp_path):
    """A real Chroma server (`chroma run`) on a free port, stopped after the test."""
    from tests.chroma_server import ChromaServer

    server = ChromaServer(tmp_path / "chroma", tmp_path / "chroma.log").start()
    yield server
    server.stop()


@pytest.fixture()
def double():
    """A fresh Slack Web API double; "UGROUPSTAFF" is the one member of any user group."""
    from tests.slack_double import SlackDouble

    server = SlackDouble(staff_group_members=["UGROUPSTAFF"]).start()
    yield server
    server.stop()
