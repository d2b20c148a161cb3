"""`coe ingest` against a hostile knowledge folder: links out, secrets, pipes, giant and
booby-trapped files. Each is reported per file, nothing leaks into the index, nothing hangs,
and the good files of the same run are indexed."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx
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
    assert _index_holds(data, "gannet rota")  # the probe below does see indexed text
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
    assert peak_mb < 250, f"ingest peaked at {peak_mb:.0f} MB"  # ~75 MB; reading it: 20 GB
    assert elapsed < 30


def _docx_bytes(**replace: bytes) -> bytes:
    """A real .docx from python-docx, with some of its parts replaced."""
    document = docx.Document()
    document.core_properties.title = "Cormorant guide"
    document.add_heading("Cormorant guide", level=1)
    document.add_paragraph("The cormorant desk answers storage questions.")
    source = io.BytesIO()
    document.save(source)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rebuilt,
    ):
        for item in original.infolist():
            rebuilt.writestr(item.filename, replace.get(item.filename, original.read(item)))
    return out.getvalue()


def _body_parts() -> tuple[bytes, bytes]:
    with zipfile.ZipFile(io.BytesIO(_docx_bytes())) as archive:
        head, tail = archive.read("word/document.xml").split(b"<w:body>", 1)
    return head + b"<w:body>", tail


def _write_bomb(path: Path, paragraph: bytes, times: int) -> None:
    """A .docx whose body repeats one paragraph: many MB of XML that pack into very little.
    Streamed into the archive, so the test never holds the unpacked XML in memory."""
    head, tail = _body_parts()
    with (
        zipfile.ZipFile(io.BytesIO(_docx_bytes())) as original,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bomb,
    ):
        for item in original.infolist():
            if item.filename != "word/document.xml":
                bomb.writestr(item.filename, original.read(item))
                continue
            with bomb.open("word/document.xml", "w") as stream:
                stream.write(head)
                block = paragraph * 10_000
                for _ in range(times // 10_000):
                    stream.write(block)
                stream.write(tail)


PARAGRAPH = b"<w:p><w:r><w:t>All work and no play makes a dull document.</w:t></w:r></w:p>"


def test_a_zip_bomb_docx_is_refused_from_its_directory(cli, write, tmp_path):
    _good(write)
    write("cormorant.docx", _docx_bytes())
    _write_bomb(write.root / "bomb.docx", PARAGRAPH, 2_000_000)  # ~150 MB of XML
    assert (write.root / "bomb.docx").stat().st_size < 1_000_000
    data = tmp_path / "data"

    started = time.monotonic()
    result = _ingest(cli, write.root, data)

    assert time.monotonic() - started < 60
    assert re.fullmatch(
        r"unpacks to 1\d\d\.\d MB, over the 100\.0 MB limit for unpacked Word content "
        r"\(raise COE_MAX_DECOMPRESSED_MB to allow it\)",
        _failures(result.stderr)["bomb.docx"],
    )
    assert _counts(result.stderr)["added"] == 2
    assert _top_doc(cli, data, "cormorant desk storage") == "cormorant.docx"


def test_docx_paragraphs_and_compression_ratio_are_capped(cli, write, tmp_path):
    _good(write)
    _write_bomb(write.root / "dense.docx", PARAGRAPH, 200_000)  # 16 MB: small, but packs 500:1
    numbered = b"".join(b"<w:p><w:r><w:t>line %d</w:t></w:r></w:p>" % i for i in range(120_000))
    head, tail = _body_parts()
    write("long.docx", _docx_bytes(**{"word/document.xml": head + numbered + tail}))
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    failed = _failures(result.stderr)
    assert re.fullmatch(
        r"its part word/document\.xml unpacks [\d,]+ times larger than it is stored "
        r"\(over 200 times: a zip bomb\?\)",
        failed["dense.docx"],
    )
    assert failed["long.docx"] == (
        "has more than 100,000 paragraphs; split it into smaller documents"
    )
    assert _counts(result.stderr)["added"] == 1


def test_a_broken_docx_is_reported_and_keeps_its_previous_version(cli, write, tmp_path):
    _good(write)
    write("cormorant.docx", _docx_bytes())
    data = tmp_path / "data"
    assert _ingest(cli, write.root, data).exit_code == 0
    broken = b'<?xml version="1.0"?><w:document xmlns:w="x"><w:body><w:p>unclosed</w:body>'
    write("cormorant.docx", _docx_bytes(**{"word/document.xml": broken}))
    write("second.md", doc("Second", "The shearwater list is new."))

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 1
    reason = _failures(result.stderr)["cormorant.docx"]
    assert reason.startswith("not a readable Word (.docx) file: XML syntax error: ")
    assert reason.endswith("(the previously ingested version stays in the index)")
    assert re.search(r"Ingest: 1 added, 0 updated, 0 removed, 1 unchanged, 1 failed", result.stderr)
    assert _top_doc(cli, data, "cormorant desk storage") == "cormorant.docx"
    assert _top_doc(cli, data, "shearwater list") == "second.md"


def _slow_html(paragraphs: int) -> str:
    cells = "".join(f"<div><p>cell {i} <b>bold</b> <i>it</i></p></div>" for i in range(paragraphs))
    return f"<html><body>{cells}</body></html>"


def test_a_parse_over_the_time_limit_is_stopped_and_the_next_file_parsed(cli, write, tmp_path):
    _good(write)
    write("a-slow.html", _slow_html(40_000))  # ~2 MB: seconds of parsing, even on a fast machine
    write("b-fine.html", "<html><body><p>The razorbill board meets on Fridays.</p></body></html>")
    data = tmp_path / "data"

    started = time.monotonic()
    result = _ingest(cli, write.root, data, COE_PARSE_TIMEOUT_S="0.5")

    assert time.monotonic() - started < 60
    assert _failures(result.stderr) == {
        "a-slow.html": "took longer than 0.5 s to parse (raise COE_PARSE_TIMEOUT_S to allow more)"
    }
    assert result.stderr.count("[ingest] starting the document parser") == 2  # replaced
    assert _top_doc(cli, data, "razorbill board Fridays") == "b-fine.html"


def test_a_parse_over_the_memory_limit_is_reported(cli, write, tmp_path):
    _good(write)
    write("big.html", _slow_html(20_000))
    write("fine.html", "<html><body><p>The razorbill board meets on Fridays.</p></body></html>")
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data, COE_PARSE_MEMORY_MB="100")

    failures = _failures(result.stderr)
    # Where the memory runs out decides whether the parser can still say so (MemoryError) or
    # just dies (exit code 1); either way the file is reported with the limit to raise.
    assert list(failures) == ["big.html"]
    assert "100.0 MB of memory" in failures["big.html"]
    assert "COE_PARSE_MEMORY_MB" in failures["big.html"]
    assert _top_doc(cli, data, "razorbill board Fridays") == "fine.html"


def test_a_noop_reingest_does_not_start_the_parser(cli, write, tmp_path):
    _good(write)
    write("page.html", "<html><body><p>The razorbill board meets on Fridays.</p></body></html>")
    write("cormorant.docx", _docx_bytes())
    data = tmp_path / "data"
    first = _ingest(cli, write.root, data)
    assert "[ingest] starting the document parser" in first.stderr

    again = _ingest(cli, write.root, data)

    assert _counts(again.stderr)["unchanged"] == 3
    assert "starting the document parser" not in again.stderr


def test_the_parser_starts_in_a_process_holding_over_a_thousand_descriptors(tmp_path):
    """A server that has been up for a while holds many connections; the parser's pipes then
    get numbers past 1023, which select() cannot watch (the parser seemed never to start)."""
    from ingest.limits import ParseLimits
    from ingest.sandbox import ParserSandbox

    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with ParserSandbox(ParseLimits()) as parser:
            page = b"<html><body><main><p>Deploys happen on Tuesdays.</p></main></body></html>"
            assert "Tuesdays" in parser.parse("html", page)["body"]
    finally:
        for fd in held:
            os.close(fd)
