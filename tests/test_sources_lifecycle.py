"""What happens to indexed documents when sources.yaml changes, a source breaks during a
rebuild, a folder goes missing or a page is renamed without new content."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.index_store import current_generation, read_manifest
from tests.confluence_double import TOKEN, USERNAME, ConfluenceDouble
from tests.conftest import doc
from tests.git_repo import Repo

ROTA = doc("Evaluation rota", "The evaluation rota hands over every second Thursday.")
KEYS = doc("Release keys", "The harbour release key is held by Odile Marchetti.")
BANDS = doc("Salary bands", "Salary bands are reviewed every March by Theo Lindqvist.")


def _write(tmp_path: Path, entries: list[dict]) -> dict[str, str]:
    path = tmp_path / "sources.yaml"
    path.write_text(json.dumps({"sources": entries}), encoding="utf-8")
    return {"COE_SOURCES_FILE": str(path), "COE_DATA_DIR": str(tmp_path / "data")}


def _folder(tmp_path: Path, relative: str, files: dict[str, str]) -> Path:
    folder = tmp_path / relative
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _keys(tmp_path: Path) -> set[str]:
    return set(read_manifest(tmp_path / "data").by_source())


def test_a_source_taken_out_of_the_file_is_removed_by_the_next_full_sync(cli, tmp_path):
    team_a = _folder(tmp_path, "teamA/docs", {"rota.md": ROTA})
    team_b = _folder(tmp_path, "teamB/docs", {"keys.md": KEYS})
    both = [
        {"name": "a", "type": "folder", "path": str(team_a)},
        {"name": "b", "type": "folder", "path": str(team_b)},
    ]
    env = _write(tmp_path, both)
    assert cli("sources", "sync", env=env).exit_code == 0
    # Same folder name, two teams: keyed by source, not mixed.
    assert _keys(tmp_path) == {"a/rota.md", "b/keys.md"}

    # Syncing one source leaves the other's documents alone.
    (team_b / "keys.md").unlink()
    assert cli("sources", "sync", "a", env=env).exit_code == 0
    assert "b/keys.md" in _keys(tmp_path)

    env = _write(tmp_path, both[:1])  # b is taken out of the file
    partial = cli("sources", "sync", "a", env=env)
    assert partial.exit_code == 0 and "b/keys.md" in _keys(tmp_path)
    full = cli("sources", "sync", env=env)
    assert full.exit_code == 0, full.output
    assert _keys(tmp_path) == {"a/rota.md"}
    answer = cli.json("ask", "Who holds the harbour release key?", env=env)
    assert "Odile Marchetti" not in answer["answer"]


def test_a_missing_folder_fails_its_source_and_keeps_its_documents(cli, tmp_path):
    docs = _folder(tmp_path, "share/kb", {"rota.md": ROTA})
    env = _write(tmp_path, [{"name": "share", "type": "folder", "path": str(docs)}])
    assert cli("sources", "sync", env=env).exit_code == 0
    docs.rename(tmp_path / "share" / "unmounted")
    result = cli("sources", "sync", env=env)
    assert result.exit_code == 1
    assert "does not exist" in result.output
    assert _keys(tmp_path) == {"share/rota.md"}
    answer = cli.json("ask", "When does the evaluation rota hand over?", env=env)
    assert "second Thursday" in answer["answer"]


def test_a_rebuild_is_not_published_while_a_source_fails(cli, tmp_path):
    repo = Repo(tmp_path)
    repo.commit("first", {"keys.md": KEYS})
    docs = _folder(tmp_path, "handbook", {"rota.md": ROTA})
    env = _write(
        tmp_path,
        [
            {"name": "standards", "type": "git", "url": str(repo.bare), "public": True},
            {"name": "handbook", "type": "folder", "path": str(docs)},
        ],
    )
    assert cli("ingest", env=env).exit_code == 0
    before = current_generation(tmp_path / "data")

    repo.bare.rename(tmp_path / "gone.git")
    rebuilt = cli("ingest", "--rebuild", env=env)
    assert rebuilt.exit_code == 1
    assert "rebuild was not published" in rebuilt.output and "standards" in rebuilt.output
    assert current_generation(tmp_path / "data") == before
    answer = cli.json("ask", "Who holds the harbour release key?", env=env)
    assert "Odile Marchetti" in answer["answer"]


def test_git_credentials_never_appear_in_messages(cli, tmp_path):
    url = "https://coe-bot:s3cr3t-token@127.0.0.1:9/acme/kb.git"
    env = _write(
        tmp_path,
        [
            {"name": "kb", "type": "git", "url": url},
            {"name": "tokened", "type": "git", "url": "https://127.0.0.1:9/x.git",
             "token_env": "KB_TOKEN"},
        ],
    )  # fmt: skip
    listed = cli("sources", "list", env=env)
    checked = cli("sources", "check", env=env)
    synced = cli("sources", "sync", env=env)
    for result in (listed, checked, synced):
        assert "s3cr3t" not in result.output
    assert "coe-bot@127.0.0.1:9" in listed.output
    assert checked.exit_code == 1 and synced.exit_code == 1
    assert "KB_TOKEN (token_env) is not set" in synced.output


@pytest.fixture()
def wiki():
    server = ConfluenceDouble().start()
    server.add_space("ENG", "Engineering")
    yield server
    server.stop()


def test_a_page_renamed_with_the_same_text_is_indexed_under_its_new_title(cli, wiki, tmp_path):
    page = wiki.add_page("ENG", "Rota", "<p>The evaluation rota hands over on Thursdays.</p>")
    env = _write(
        tmp_path,
        [
            {
                "name": "wiki",
                "type": "confluence",
                "url": wiki.url,
                "spaces": ["ENG"],
                "username": USERNAME,
                "token_env": "WIKI_TOKEN",
            }
        ],
    )
    env["WIKI_TOKEN"] = TOKEN
    assert cli("sources", "sync", env=env).exit_code == 0
    with wiki._lock:  # a rename: a new version, the same body
        wiki.pages[page].title = "Model evaluation rota"
        wiki.pages[page].version += 1
    again = cli("sources", "sync", env=env)
    assert again.exit_code == 0 and "1 updated" in again.output
    entry = read_manifest(tmp_path / "data").by_source()[f"wiki/{page}"]
    assert entry.title == "Model evaluation rota"
    hits = cli.json("search", "evaluation rota", env=env)
    assert hits[0]["title"] == "Model evaluation rota"
