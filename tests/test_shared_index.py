"""The index shared by replicas: generations in the database, vectors in a real Chroma server.

Each "machine" is its own data directory; they share one database and one `chroma run`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from bot.container import build
from bot.db.models import IndexChunk, IndexGeneration
from bot.settings import Settings
from bot.shared_index import INGEST_CLAIM
from bot.work.claims import JobClaims
from ingest.index_store import current_generation
from tests.conftest import REPO, doc


@pytest.fixture()
def shared_env(chroma, tmp_path):
    return {
        "COE_CHROMA_URL": chroma.url,
        "COE_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "COE_AUTO_CALIBRATE": "false",
    }


def _kb(folder, extra: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "launch.md").write_text(
        doc(
            "Launch Standard",
            "Every AI feature needs a signed model card before launch. "
            "The Responsible AI Lead signs the model card after the fairness review.",
        )
    )
    (folder / "vendors.md").write_text(
        doc(
            "Vendor Contracts",
            "Vendor contracts for AI services must forbid training on our data. "
            "Legal reviews every AI vendor contract before signature." + extra,
        )
    )


def _services(env: dict[str, str], data_dir):
    settings = Settings.model_validate({**env, "COE_DATA_DIR": str(data_dir)})
    return build(settings)


def test_a_replica_with_an_empty_disk_answers_from_what_an_ingest_elsewhere_published(
    cli, shared_env, tmp_path
):
    _kb(tmp_path / "machine-a" / "knowledge")
    ingested = cli(
        "ingest",
        "--data-dir",
        str(tmp_path / "a"),
        str(tmp_path / "machine-a" / "knowledge"),
        env=shared_env,
    )
    assert ingested.exit_code == 0, ingested.output
    store = _services(shared_env, tmp_path / "a").store
    with store.session() as session:
        assert session.execute(select(IndexGeneration.number)).scalars().all() == [1]
        assert session.execute(select(func.count()).select_from(IndexChunk)).scalar() >= 2

    # A replica on another machine: nothing on its disk.
    answer = cli.json(
        "ask", "--data-dir", str(tmp_path / "b"), "Who signs the model card?", env=shared_env
    )
    assert answer["outcome"] == "answered"
    assert "Responsible AI Lead" in answer["answer"]
    assert current_generation(tmp_path / "b") == "g000001"

    # An ingest job on a third machine, from the same folder under another absolute path:
    # documents are known by source id, so only the edited one is read again.
    _kb(tmp_path / "machine-c" / "knowledge", extra=" Contracts are renewed every March.")
    again = cli(
        "ingest",
        "--data-dir",
        str(tmp_path / "c"),
        str(tmp_path / "machine-c" / "knowledge"),
        env=shared_env,
    )
    assert again.exit_code == 0, again.output
    assert "0 added, 1 updated, 0 removed, 1 unchanged" in again.output

    renewed = cli.json(
        "ask",
        "--data-dir",
        str(tmp_path / "b"),
        "When are vendor contracts renewed?",
        env=shared_env,
    )
    assert current_generation(tmp_path / "b") == "g000002"
    assert "renewed every March" in renewed["answer"]


def test_a_second_ingest_gets_a_clear_message_while_one_is_publishing(cli, shared_env, tmp_path):
    _kb(tmp_path / "knowledge")
    claims = JobClaims(_services(shared_env, tmp_path / "a").store, owner="other-host:1:ab12")
    assert claims.take(INGEST_CLAIM, 60)

    result = cli(
        "ingest", "--data-dir", str(tmp_path / "a"), str(tmp_path / "knowledge"), env=shared_env
    )
    assert result.exit_code == 2  # like any other refusal to start
    assert "another ingest is publishing to this index (other-host:1:ab12)" in result.output

    claims.release(INGEST_CLAIM)
    result = cli(
        "ingest", "--data-dir", str(tmp_path / "a"), str(tmp_path / "knowledge"), env=shared_env
    )
    assert result.exit_code == 0, result.output


def test_a_killed_ingest_publishes_nothing_and_the_next_one_runs_at_once(cli, shared_env, tmp_path):
    folder = tmp_path / "knowledge"
    _kb(folder)
    assert (
        cli("ingest", "--data-dir", str(tmp_path / "a"), str(folder), env=shared_env).exit_code == 0
    )
    for n in range(40):  # enough new text to be killed while it is embedded
        (folder / f"note-{n}.md").write_text(
            doc(f"Note {n}", " ".join(f"Paragraph {n}.{i} about topic {i * n}." for i in range(60)))
        )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli.main",
            "ingest",
            "--data-dir",
            str(tmp_path / "a"),
            str(folder),
        ],
        cwd=REPO,
        env={**os.environ, **shared_env},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if "[ingest] embedding" in line:
            break
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)

    store = _services(shared_env, tmp_path / "a").store
    with store.session() as session:
        assert session.execute(select(IndexGeneration.number)).scalars().all() == [1]
    # Its holder is gone (same host), so the claim is free now, not in a minute.
    started = time.monotonic()
    result = cli("ingest", "--data-dir", str(tmp_path / "a"), str(folder), env=shared_env)
    assert result.exit_code == 0, result.output
    assert "40 added" in result.output
    assert time.monotonic() - started < 120
    with store.session() as session:
        assert session.execute(select(func.max(IndexGeneration.number))).scalar() == 2


def test_an_index_built_before_it_was_shared_is_published_with_its_vectors(
    cli, kb_data, shared_env, tmp_path
):
    local = tmp_path / "local"
    shutil.copytree(kb_data, local)
    env = {**shared_env, "COE_AUTO_CALIBRATE": "true"}
    result = cli("ingest", "--data-dir", str(local), env=env)
    assert result.exit_code == 0, result.output
    assert "0 added" in result.output  # nothing was read or embedded again

    answer = cli.json(
        "ask", "--data-dir", str(tmp_path / "fresh"), "Who owns red-teaming?", env=env
    )
    assert answer["outcome"] in {"answered", "partial"}
    assert answer["sources"]


def test_lost_chroma_data_keeps_replicas_answering_and_a_rebuild_from_any_disk_restores_it(
    cli, chroma, shared_env, tmp_path
):
    folder = tmp_path / "knowledge"
    _kb(folder)
    assert (
        cli("ingest", "--data-dir", str(tmp_path / "a"), str(folder), env=shared_env).exit_code == 0
    )
    assert (
        cli.json(
            "ask", "--data-dir", str(tmp_path / "b"), "Who signs the model card?", env=shared_env
        )["outcome"]
        == "answered"
    )

    chroma.stop()
    (folder / "extra.md").write_text(doc("Extra", "A new page that must be embedded."))
    down = cli("ingest", "--data-dir", str(tmp_path / "a"), str(folder), env=shared_env)
    assert down.exit_code == 2
    assert f"check that the Chroma server at {chroma.url}" in down.output

    chroma.path = tmp_path / "chroma-after-the-disk-died"
    chroma.start()
    # A replica that has its copy keeps answering; a new one cannot copy and says why.
    kept = cli.json(
        "ask", "--data-dir", str(tmp_path / "b"), "Who signs the model card?", env=shared_env
    )
    assert "Responsible AI Lead" in kept["answer"]
    new = cli(
        "ask", "--data-dir", str(tmp_path / "new"), "Who signs the model card?", env=shared_env
    )
    assert new.exit_code == 2
    assert "coe ingest --rebuild" in new.output

    (folder / "extra.md").unlink()
    # The ingest job's disk is gone too: a rebuild from an empty one publishes generation 2.
    rebuilt = cli(
        "ingest", "--rebuild", "--data-dir", str(tmp_path / "job"), str(folder), env=shared_env
    )
    assert rebuilt.exit_code == 0, rebuilt.output
    fresh = cli.json(
        "ask", "--data-dir", str(tmp_path / "new"), "Who signs the model card?", env=shared_env
    )
    assert "Responsible AI Lead" in fresh["answer"]
    assert current_generation(tmp_path / "new") == "g000002"


def test_documents_are_keyed_by_folder_label_so_same_named_folders_do_not_collide(cli, tmp_path):
    from ingest.discovery import root_labels

    a, b = tmp_path / "teamA" / "docs", tmp_path / "teamB" / "docs"
    for folder, owner in ((a, "Team A"), (b, "Team B")):
        folder.mkdir(parents=True)
        (folder / "faq.md").write_text(
            doc(f"{owner} FAQ", f"{owner} answers questions on Fridays.")
        )
    assert root_labels([a, b]) == ["teamA/docs", "teamB/docs"]
    assert root_labels([a]) == ["docs"]

    data = str(tmp_path / "data")
    first = cli("ingest", "--data-dir", data, str(a), str(b))
    assert first.exit_code == 0, first.output
    assert "2 added" in first.output
    again = cli("ingest", "--data-dir", data, str(a), str(b))
    assert "0 added, 0 updated, 0 removed, 2 unchanged" in again.output
    from ingest.index_store import read_manifest

    assert sorted(read_manifest(tmp_path / "data").files) == [
        "teamA/docs/faq.md",
        "teamB/docs/faq.md",
    ]


def test_a_local_index_with_the_same_generation_number_is_not_taken_for_the_shared_one(
    cli, shared_env, tmp_path
):
    shared_kb = tmp_path / "shared-kb" / "knowledge"
    _kb(shared_kb)
    assert (
        cli("ingest", "--data-dir", str(tmp_path / "job"), str(shared_kb), env=shared_env).exit_code
        == 0
    )
    # This replica ran alone before: its own generation 1, of other documents.
    local_kb = tmp_path / "local-kb" / "notes"
    local_kb.mkdir(parents=True)
    (local_kb / "lunch.md").write_text(doc("Lunch", "Lunch is served at noon in the atrium."))
    replica = str(tmp_path / "replica")
    assert cli("ingest", "--data-dir", replica, str(local_kb)).exit_code == 0
    assert current_generation(tmp_path / "replica") == "g000001"

    answer = cli.json("ask", "--data-dir", replica, "Who signs the model card?", env=shared_env)
    assert "Responsible AI Lead" in answer["answer"]


def test_a_malformed_chroma_url_or_backend_is_refused_at_once_with_the_setting_named(cli, tmp_path):
    bad_url = cli("ask", "--data-dir", str(tmp_path), "hi", env={"COE_CHROMA_URL": "ftp://x"})
    assert bad_url.exit_code == 2
    assert "invalid settings: COE_CHROMA_URL" in bad_url.output
    bad_backend = cli(
        "ask", "--data-dir", str(tmp_path), "hi", env={"COE_EMBEDDING_BACKEND": "gpu"}
    )
    assert bad_backend.exit_code == 2
    assert "COE_EMBEDDING_BACKEND: Input should be 'onnx' or 'torch'" in bad_backend.output
