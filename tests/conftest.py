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
