"""`coe ingest` against a hostile knowledge folder: links out, secrets, pipes, giant and
booby-trapped files. Each is reported per file, nothing leaks into the index, nothing hangs,
and the good files of the same run are indexed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, doc
from tests.test_ingest_cli import _counts, _top_doc

pytestmark = pytest.mark.timeout(120)

FAKE_TOKEN = "xoxb-0000-fake-hostile-token"
PASSWD_LINE = "root:x:0:0"
SYMLINK_OFF = "is a symbolic link; set COE_FOLLOW_SYMLINKS=inside to allow links that stay inside"


def _ingest(cli, root: Path, data: Path, **env: str):
    return cli("ingest", str(root), "--data-dir", str(data), env=env or None)


def _failures(output: str) -> dict[str, str]:
    """Reason per failed path, keyed by the path below 'docs/'; rich's line wraps undone."""
    failed: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        match = re.match(r"failed (.+?): (.*)$", line)
        if match:
            current = match.group(1).split("/docs/", 1)[-1]
            failed[current] = match.group(2)
        elif current and not line.startswith(("Ingest:", "[ingest]")):
            failed[current] += " " + line  # rich wraps long lines at a space
        else:
            current = None
    return {path: " ".join(reason.split()) for path, reason in failed.items()}


def _index_holds(data: Path, text: str) -> bool:
    """Whether any file of the index (chunks, manifest, Chroma, BM25) contains the text."""
    needle = text.encode()
    return any(needle in p.read_bytes() for p in data.rglob("*") if p.is_file())


def _good(write) -> None:
    write("good.md", doc("Good", "The pelican process is documented here."))


def test_links_are_refused_by_default_and_their_targets_stay_out(cli, write, tmp_path):
    _good(write)
    outside = tmp_path / "app"
    outside.mkdir()
    (outside / ".env").write_text(f"SLACK_BOT_TOKEN={FAKE_TOKEN}\n")
    (outside / "notes").mkdir()
    (outside / "notes" / "n.md").write_text(doc("Notes", f"Token {FAKE_TOKEN} lives here."))
    os.symlink("/etc/passwd", write.root / "passwd.md")
    os.symlink(outside / ".env", write.root / "settings.md")
    os.symlink(outside / "notes", write.root / "more-notes")
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 1
    failed = _failures(result.stderr)
    assert failed["passwd.md"].startswith(SYMLINK_OFF)
    assert failed["settings.md"].startswith(SYMLINK_OFF)
    assert failed["more-notes"].startswith("is a symbolic link to a folder, not followed; set")
    assert _counts(result.stderr)["added"] == 1
    assert _top_doc(cli, data, "pelican process") == "good.md"
    hits = cli.json("search", "root x 0 0 bin bash", "--data-dir", str(data))
    assert all(PASSWD_LINE not in h["text"] for h in hits)
    assert not _index_holds(data, PASSWD_LINE)
    assert not _index_holds(data, FAKE_TOKEN)


def test_inside_policy_follows_only_links_that_stay_inside(cli, write, tmp_path):
    _good(write)
    write("real/guide.md", doc("Guide", "The gannet rota is kept by the night shift."))
    write(".env", f"SLACK_BOT_TOKEN={FAKE_TOKEN}\n")
    os.symlink("real/guide.md", write.root / "alias.md")
    os.symlink("real", write.root / "shortcut")
    os.symlink("..", write.root / "real" / "up")  # a loop
    os.symlink("/etc/passwd", write.root / "passwd.md")
    os.symlink(".env", write.root / "env.md")  # inside, but a hidden file
    os.symlink("nowhere.md", write.root / "broken.md")
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data, COE_FOLLOW_SYMLINKS="inside")

    assert result.exit_code == 1
    failed = _failures(result.stderr)
    assert failed["passwd.md"].startswith(
        "is a symbolic link to /etc/passwd, outside the ingested folder"
    )
    assert failed["env.md"] == (
        "is a symbolic link to a hidden file or folder (.env); such files are never read"
    )
    assert failed["broken.md"] == "is a broken symbolic link (its target does not exist)"
    assert failed["real/up"].startswith("is a symbolic link to a folder that contains it")
    assert failed["shortcut/up"].startswith("is a symbolic link to a folder that contains it")
    assert len(failed) == 5
    # good.md, real/guide.md and the same guide through both links
    assert _counts(result.stderr)["added"] == 4
    rows = cli.json("search", "gannet rota night shift", "--data-dir", str(data), "-k", "5")
    assert {"real/guide.md", "alias.md", "shortcut/guide.md"} <= {r["doc_id"] for r in rows}
    assert not _index_holds(data, PASSWD_LINE)
    assert not _index_holds(data, FAKE_TOKEN)

    # Turning links off again takes out what was indexed through them.
    again = _ingest(cli, write.root, data)
    assert "its previously ingested version was removed" in _failures(again.stderr)["alias.md"]
    rows = cli.json("search", "gannet rota night shift", "--data-dir", str(data), "-k", "5")
    assert {r["doc_id"] for r in rows} & {"alias.md", "shortcut/guide.md"} == set()
    assert "real/guide.md" in {r["doc_id"] for r in rows}


def test_secret_files_are_never_read(cli, write, tmp_path):
    _good(write)
    write("id_rsa.txt", f"-----BEGIN OPENSSH PRIVATE KEY----- {FAKE_TOKEN}\n")
    write("team/.private/notes.md", doc("Hidden", FAKE_TOKEN))
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert _failures(result.stderr) == {
        "id_rsa.txt": "is a key or secret file (id_rsa.txt); such files are never read"
    }
    assert _counts(result.stderr)["added"] == 1
    assert not _index_holds(data, FAKE_TOKEN)


@pytest.mark.timeout(30)
def test_a_fifo_or_device_is_reported_without_blocking(cli, write, tmp_path):
    _good(write)
    os.mkfifo(write.root / "x.md")
    try:
        os.mknod(write.root / "zero.md", 0o644 | 0o020000, os.makedev(1, 5))  # like /dev/zero
        device = True
    except PermissionError:
        device = False  # not root: the FIFO still shows that special files are never opened
    data = tmp_path / "data"

    started = time.monotonic()
    result = _ingest(cli, write.root, data)
    named = cli("ingest", str(write.root / "x.md"), "--data-dir", str(tmp_path / "data2"))

    assert time.monotonic() - started < 20
    failed = _failures(result.stderr)
    assert failed["x.md"] == "is a named pipe (FIFO), not a regular file"
    if device:
        assert failed["zero.md"] == "is a character device, not a regular file"
    assert _counts(result.stderr)["added"] == 1
    assert _top_doc(cli, data, "pelican process") == "good.md"
    assert named.exit_code == 1
    assert "x.md: is a named pipe (FIFO), not a regular file" in named.stderr


def test_a_huge_sparse_file_is_refused_before_it_is_read(cli, write, tmp_path):
    _good(write)
    data = tmp_path / "data"
    assert _ingest(cli, write.root, data).exit_code == 0
    huge = write.root / "huge.md"
    huge.touch()
    os.truncate(huge, 20 * 1024**3)  # 20 GiB of holes: costs no disk
    # A fresh process whose only child is the ingest, so its peak memory is the ingest's alone.
    measure = (
        "import resource, subprocess, sys; "
        "run = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stderr.write(run.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(run.returncode)"
    )
    command = [sys.executable, "-c", measure, sys.executable, "-m", "bot.cli.main", "ingest"]
    env = {**os.environ, "COE_DATA_DIR": str(data), "COLUMNS": "200"}

    started = time.monotonic()
    run = subprocess.run(
        [*command, str(write.root)], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started

    assert run.returncode == 1, run.stderr
    assert _failures(run.stderr)["huge.md"] == (
        "file is 21,474.8 MB, over the 10.0 MB limit (raise COE_MAX_FILE_MB to allow it)"
    )
    assert _counts(run.stderr)["unchanged"] == 1
    peak_mb = int(run.stdout.strip()) / 1024
    assert peak_mb < 600, f"ingest peaked at {peak_mb:.0f} MB"  # reading it would take 20 GB
    assert elapsed < 30
