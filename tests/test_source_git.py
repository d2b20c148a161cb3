"""Git sources against a real local bare repository: commits add, change and delete files,
and `coe sources sync` follows them; answers cite the file's web link."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.index_store import read_manifest
from tests.conftest import doc
from tests.git_repo import Repo

HARBOUR = doc(
    "Harbour model release policy",
    "Every model shipped by the harbour team is signed with the release key held by Odile "
    "Marchetti, and a signed model card is attached to the release ticket.",
)
GLACIER = doc(
    "Glacier evaluation rota",
    "The glacier evaluation rota runs every second Thursday; Bertrand Osei reviews the drift "
    "dashboards and files the weekly drift summary.",
)
TUNDRA = doc(
    "Tundra prompt library",
    "Prompts in the tundra library are versioned with semantic version numbers and reviewed by "
    "Kalani Brooks before they reach production traffic.",
)


@pytest.fixture()
def repo(tmp_path) -> Repo:
    repo = Repo(tmp_path)
    repo.commit(
        "first standards",
        {
            "docs/harbour.md": HARBOUR,
            "docs/glacier.md": GLACIER,
            "docs/_drafts/secret.md": doc("Draft", "Unpublished draft about harbour keys."),
            "README.md": doc("Repository readme", "How to contribute to this repository."),
        },
    )
    return repo


def _sources_file(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(json.dumps({"sources": entries}), encoding="utf-8")  # YAML reads JSON
    return path


def _git_entry(repo: Repo, **extra) -> dict:
    return {
        "name": "standards",
        "type": "git",
        "url": str(repo.bare),
        "path": "docs",
        "web_url": "https://git.example.com/coe/kb/blob/main",
        "public": True,
        **extra,
    }


def _env(sources: Path) -> dict[str, str]:
    return {"COE_SOURCES_FILE": str(sources)}


def _ask(cli, data: Path, question: str, env: dict, *extra: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(data), *extra, env=env)


def test_a_synced_file_is_answered_with_its_own_link_and_commits_are_followed(cli, repo, tmp_path):
    data = tmp_path / "data"
    env = _env(_sources_file(tmp_path, [_git_entry(repo)]))
    first = cli("sources", "sync", "--data-dir", str(data), env=env)
    assert first.exit_code == 0, first.output
    keys = set(read_manifest(data).by_source())
    # Only the sub-folder, and never a draft.
    assert keys == {"standards/harbour.md", "standards/glacier.md"}

    answer = _ask(cli, data, "Who holds the release key for harbour models?", env)
    assert answer["abstained"] is False
    assert "Odile Marchetti" in answer["answer"]
    cited = {s["source"] for s in answer["sources"] if s["cited"]}
    assert "https://git.example.com/coe/kb/blob/main/docs/harbour.md" in cited

    repo.commit(
        "rota moves; tundra added; harbour retired",
        {
            "docs/glacier.md": GLACIER.replace("second Thursday", "first Monday"),
            "docs/tundra.md": TUNDRA,
            "docs/harbour.md": None,
        },
    )
    second = cli("sources", "sync", "standards", "--data-dir", str(data), env=env)
    assert second.exit_code == 0, second.output
    row = next(line for line in second.stdout.splitlines() if line.strip().startswith("│ stand"))
    # listed, added, updated, removed, unchanged, failed
    assert [c.strip() for c in row.split("│")[3:9]] == ["2", "1", "1", "1", "0", "0"]

    rota = _ask(cli, data, "When does the glacier evaluation rota run?", env)
    assert "first Monday" in rota["answer"] and "second Thursday" not in rota["answer"]
    tundra = _ask(cli, data, "Who reviews prompts in the tundra library?", env)
    assert "Kalani Brooks" in tundra["answer"]
    gone = _ask(cli, data, "Who holds the release key for harbour models?", env)
    assert "Odile Marchetti" not in gone["answer"]
    assert "standards/harbour.md" not in read_manifest(data).by_source()


def test_a_sync_with_no_new_commit_reads_nothing_again(cli, repo, tmp_path):
    data = tmp_path / "data"
    env = _env(_sources_file(tmp_path, [_git_entry(repo)]))
    assert cli("sources", "sync", "--data-dir", str(data), env=env).exit_code == 0
    before = read_manifest(data)
    again = cli("sources", "sync", "--data-dir", str(data), env=env)
    assert again.exit_code == 0, again.output
    assert "2 unchanged" in again.output and "0 chunks embedded" in again.output
    assert read_manifest(data).generation == before.generation  # nothing published


def test_a_repository_not_marked_public_is_for_staff_only(cli, repo, tmp_path):
    data = tmp_path / "data"
    env = _env(_sources_file(tmp_path, [_git_entry(repo, public=False)]))
    assert cli("sources", "sync", "--data-dir", str(data), env=env).exit_code == 0
    question = "Who holds the release key for harbour models?"
    assert "Odile Marchetti" not in _ask(cli, data, question, env)["answer"]
    assert "Odile Marchetti" in _ask(cli, data, question, env, "--staff")["answer"]
    assert {e.audience for e in read_manifest(data).files.values()} == {"coe-staff"}


def test_a_failing_source_keeps_its_last_content_and_the_others_sync(cli, repo, tmp_path, write):
    write("tundra.md", TUNDRA)
    data = tmp_path / "data"
    folder = {"name": "handbook", "type": "folder", "path": str(write.root)}
    env = _env(_sources_file(tmp_path, [_git_entry(repo), folder]))
    assert cli("sources", "sync", "--data-dir", str(data), env=env).exit_code == 0

    # The repository moves away (a server down, a typo in the url): the next sync fails.
    repo.bare.rename(repo.bare.with_name("moved.git"))
    write("tundra.md", TUNDRA.replace("Kalani Brooks", "Ines Park"))
    failed = cli("sources", "sync", "--data-dir", str(data), env=env)
    assert failed.exit_code == 1
    assert "standards" in failed.stdout and "failed: git fetch" in failed.stdout
    assert "last content kept" in failed.stdout

    kept = _ask(cli, data, "Who holds the release key for harbour models?", env)
    assert "Odile Marchetti" in kept["answer"]
    other = _ask(cli, data, "Who reviews prompts in the tundra library?", env)
    assert "Ines Park" in other["answer"]


def test_sources_check_reports_each_source_and_list_counts_documents(cli, repo, tmp_path):
    data = tmp_path / "data"
    missing = _git_entry(repo, name="elsewhere", url=str(tmp_path / "no-such.git"))
    env = _env(_sources_file(tmp_path, [_git_entry(repo), missing]))
    checked = cli("sources", "check", "--json", env={**env, "COE_DATA_DIR": str(data)})
    assert checked.exit_code == 1
    rows = {r["name"]: r for r in json.loads(checked.stdout)}
    assert rows["standards"] == {
        "name": "standards", "type": "git", "ok": True, "items": 2, "error": None,
    }  # fmt: skip
    assert rows["elsewhere"]["ok"] is False and "no-such.git" in rows["elsewhere"]["error"]

    assert cli("sources", "sync", "standards", "--data-dir", str(data), env=env).exit_code == 0
    listed = cli.json("sources", "list", "--data-dir", str(data), env=env)
    assert [(r["name"], r["indexed"]) for r in listed] == [("standards", 2), ("elsewhere", 0)]


def test_a_broken_sources_file_names_the_entry_and_the_key(cli, tmp_path):
    bad = _sources_file(
        tmp_path, [{"name": "wiki", "type": "confluence", "url": "https://x", "token": "s3cr3t"}]
    )
    result = cli("sources", "list", env=_env(bad))
    assert result.exit_code == 2
    assert "sources[0] (wiki)" in result.output and "token" in result.output
