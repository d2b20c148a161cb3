"""`coe ingest` through the CLI: every format, incremental runs, and each kind of bad input."""

from __future__ import annotations

import os
import re
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from tests.conftest import doc


def _counts(output: str) -> dict[str, int]:
    line = next(x for x in output.splitlines() if x.startswith("Ingest:"))
    return {
        name: int(n)
        for n, name in re.findall(r"(\d+) (added|updated|removed|unchanged|failed)", line)
    } | {"embedded": int(re.search(r"(\d+) chunks embedded", line).group(1))}


def _top_doc(cli, data: Path, query: str) -> str:
    rows = cli.json("search", query, "--data-dir", str(data), "-k", "3")
    return rows[0]["doc_id"] if rows else ""


def _make_pdf(path: Path, heading: str, text: str) -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, heading, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_title(heading)
    pdf.output(str(path))


def _make_docx(path: Path, heading: str, text: str) -> None:
    document = docx.Document()
    document.core_properties.title = heading
    document.add_heading(heading, level=1)
    document.add_paragraph(text)
    document.add_paragraph(
        "Escalate unresolved tickets to the platform duty manager.", style="List Bullet"
    )
    document.save(str(path))


def test_every_supported_format_is_ingested_and_searchable(cli, write, tmp_path):
    write(
        "guide.md", doc("Markdown guide", "Quokka budgets are reviewed every quarter by finance.")
    )
    write("notes.txt", "Plain notes\n\nThe narwhal cluster hosts the staging evaluation jobs.\n")
    write(
        "page.html",
        "<html><head><title>Intranet page</title><meta name='owner' content='Web Team'></head>"
        "<body><h1>Intranet page</h1><p>The axolotl dashboard shows latency per model.</p>"
        "<script>var hidden = 'pangolin';</script></body></html>",
    )
    _make_pdf(
        write.root / "policy.pdf",
        "Retention policy",
        "Capybara logs are deleted after thirty days unless legal asks otherwise.",
    )
    _make_docx(
        write.root / "runbook.docx",
        "Support runbook",
        "The wombat queue is checked twice a day by the support rota.",
    )
    data = tmp_path / "data"
    result = cli("ingest", str(write.root), "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    assert _counts(result.stderr) | {"embedded": 0} == {
        "added": 5,
        "updated": 0,
        "removed": 0,
        "unchanged": 0,
        "failed": 0,
        "embedded": 0,
    }
    assert _top_doc(cli, data, "quokka budgets") == "guide.md"
    assert _top_doc(cli, data, "narwhal cluster staging") == "notes.txt"
    assert _top_doc(cli, data, "axolotl dashboard latency") == "page.html"
    assert _top_doc(cli, data, "capybara logs deleted") == "policy.pdf"
    assert _top_doc(cli, data, "wombat queue support rota") == "runbook.docx"
    # Script bodies are not text a reader sees, so they are not indexed.
    hits = cli.json("search", "pangolin", "--data-dir", str(data))
    assert hits and all("pangolin" not in h["text"] for h in hits)
    answer = cli.json("ask", "How long are capybara logs kept?", "--data-dir", str(data))
    assert answer["sources"][0]["title"] == "Retention policy"


def test_incremental_add_change_delete_and_noop(cli, write, tmp_path):
    data = tmp_path / "data"
    write("a.md", doc("Alpha", "The heron service answers billing questions."))
    write("b.md", doc("Beta", "The osprey service schedules maintenance windows."))
    first = cli("ingest", str(write.root), "--data-dir", str(data))
    assert _counts(first.stderr)["added"] == 2

    again = cli("ingest", str(write.root), "--data-dir", str(data))
    counts = _counts(again.stderr)
    assert counts["unchanged"] == 2 and counts["embedded"] == 0
    assert "embedding" not in again.stderr  # the model was not even loaded

    write("a.md", doc("Alpha", "The kestrel service now answers billing questions."))
    write("c.md", doc("Gamma", "The puffin service rotates credentials weekly."))
    (write.root / "b.md").unlink()
    changed = cli("ingest", str(write.root), "--data-dir", str(data))
    counts = _counts(changed.stderr)
    assert (counts["added"], counts["updated"], counts["removed"], counts["unchanged"]) == (
        1,
        1,
        1,
        0,
    )
    assert _top_doc(cli, data, "kestrel billing") == "a.md"
    assert _top_doc(cli, data, "puffin credentials") == "c.md"
    hits = cli.json("search", "osprey maintenance windows", "--data-dir", str(data))
    assert all(h["doc_id"] != "b.md" for h in hits)
    hits = cli.json("search", "heron", "--data-dir", str(data))
    assert all("heron" not in h["text"] for h in hits)


def test_only_front_matter_changes_do_not_reembed(cli, write, tmp_path):
    data = tmp_path / "data"
    write("a.md", doc("Alpha", "The heron service answers billing questions.", owner="Ann"))
    cli("ingest", str(write.root), "--data-dir", str(data))
    write("a.md", doc("Alpha", "The heron service answers billing questions.", owner="Bob"))
    result = cli("ingest", str(write.root), "--data-dir", str(data))
    assert _counts(result.stderr)["updated"] == 1
    assert _counts(result.stderr)["embedded"] == 0
    answer = cli.json("ask", "who answers billing questions heron", "--data-dir", str(data))
    assert answer["sources"][0]["owner"] == "Bob"


BAD_INPUTS = [
    (
        "bad-audience.md",
        "---\ntitle: X\naudience: managers\n---\nSome text here.\n",
        "invalid front matter: 'audience'",
    ),
    (
        "typo-audience.md",
        "---\ntitle: X\naudiance: coe-staff\n---\nSome text here.\n",
        "unknown key 'audiance' (did you mean 'audience'?",
    ),
    ("bad-yaml.md", "---\ntitle: [unclosed\n---\nSome text here.\n", "invalid front matter"),
    ("bad-date.md", "---\ntitle: X\nreview_by: someday\n---\nSome text.\n", "'review_by'"),
    ("empty.md", "", "file is empty"),
    ("header-only.md", "---\ntitle: Only a header\n---\n", "no text to index"),
    ("binary.txt", b"\x00\x01\x02binary\x00data" * 20, "binary file"),
    ("latin1.md", "Caf\xe9 policy for the team\n".encode("latin-1"), "not valid UTF-8"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
    ("broken.docx", b"PK\x03\x04 not a zip at all", "not a readable Word"),
]


@pytest.mark.parametrize(("name", "content", "reason"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_reported_and_the_rest_is_ingested(
    cli, write, tmp_path, name, content, reason
):
    write("good.md", doc("Good", "The pelican process is documented here."))
    write(name, content)
    data = tmp_path / "data"
    result = cli("ingest", str(write.root), "--data-dir", str(data))
    assert result.exit_code == 1
    failure = next(line for line in result.stderr.splitlines() if line.startswith("failed"))
    assert name in failure and reason in failure
    counts = _counts(result.stderr)
    assert counts["added"] == 1 and counts["failed"] == 1
    assert _top_doc(cli, data, "pelican process") == "good.md"


def test_oversized_and_unreadable_files_are_reported(cli, write, tmp_path):
    write("good.md", doc("Good", "The pelican process is documented here."))
    write("huge.md", doc("Huge", "word " * 3000))
    os.symlink(tmp_path / "nowhere.md", write.root / "dangling.md")
    data = tmp_path / "data"
    result = cli(
        "ingest", str(write.root), "--data-dir", str(data), env={"COE_MAX_FILE_MB": "0.01"}
    )
    assert result.exit_code == 1
    assert re.search(r"huge\.md: file is [\d,]+ bytes, over the 10,000 bytes limit", result.stderr)
    # Links are refused before their target is looked at (COE_FOLLOW_SYMLINKS is off).
    assert re.search(r"dangling\.md: is a symbolic link; set COE_FOLLOW_SYMLINKS", result.stderr)
    assert _counts(result.stderr)["added"] == 1


def test_a_broken_edit_keeps_the_previous_version(cli, write, tmp_path):
    data = tmp_path / "data"
    write("a.md", doc("Alpha", "The heron service answers billing questions."))
    cli("ingest", str(write.root), "--data-dir", str(data))
    write("a.md", "---\ntitle: Alpha\naudience: nobody\n---\nThe heron service is gone.\n")
    result = cli("ingest", str(write.root), "--data-dir", str(data))
    assert result.exit_code == 1
    assert "previously ingested version stays" in result.stderr
    assert _top_doc(cli, data, "heron billing") == "a.md"


def test_missing_path_is_reported(cli, tmp_path):
    result = cli("ingest", str(tmp_path / "no-such-folder"), "--data-dir", str(tmp_path / "d"))
    assert result.exit_code == 1
    assert "no such file or folder" in result.stderr
