"""`coe ingest` on real-world shapes of documents: static-site front matter, files with no
title, PDFs as exporters make them, docs-site HTML, Word and HTML tables, and garbled text.

Each fixture is built here; each check goes through the CLI (`coe ingest`, `coe search --json`)
except where the index's manifest is the only place a header value is kept."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.index_store import read_manifest
from tests.test_ingest_cli import _counts


def _ingest(cli, root: Path, data: Path):
    return cli("ingest", str(root), "--data-dir", str(data))


def _chunks(cli, data: Path, query: str = "the") -> list[dict]:
    """Every chunk of a small index (search returns up to k of all chunks)."""
    return cli.json("search", query, "--data-dir", str(data), "-k", "100")


def _texts(cli, data: Path, doc_id: str) -> str:
    return "\n\n".join(r["text"] for r in _chunks(cli, data) if r["doc_id"] == doc_id)


def _lines(output: str, kind: str) -> dict[str, str]:
    """'note'/'warning'/'failed' lines by file name; rich's line wraps undone."""
    found: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        match = re.match(rf"{kind} (.+?): (.*)$", line)
        if match:
            current = Path(match.group(1)).name
            found[current] = (found.get(current, "") + " | " + match.group(2)).strip(" |")
        elif current and not re.match(r"(note|warning|failed) |Ingest:|\[ingest\]", line):
            found[current] += " " + line
        else:
            current = None
    return {name: " ".join(text.split()) for name, text in found.items()}


def _entries(data: Path) -> dict:
    return {Path(e.path).name: e for e in read_manifest(data).files.values()}


JEKYLL = """---
layout: post
title: "Quarterly Review Process"
permalink: /process/quarterly-review/
date: 2024-03-05 10:00:00 +0100
author:
  name: Dana Whitfield
  twitter: dwhit
tags: "planning, review"
categories: [process]
type: post
---
# Quarterly Review Process

The ibis committee reviews every roadmap once a quarter and publishes its decisions.
"""

HUGO = """+++
title = "Egret Release Train"
lastmod = 2025-01-10T09:30:00Z
weight = 5
draft = false
url = "/release-train/"
[params]
  banner = "train.png"
+++
The egret release train leaves every second Tuesday with whatever passed review.
"""

OBSIDIAN = """---
tags:
  - "#research"
  - notes
aliases: [Grebe]
cssclasses: wide
updated: 2025-02-01
---
The grebe protocol says every experiment keeps a lab notebook for two years.
"""

DOCUSAURUS = """---
id: heron-pipeline
sidebar_position: 2
description: How the heron pipeline moves data between regions.
authors:
  - name: Ann Lee
    title: Staff engineer
  - Bo Chen
keywords: [heron, pipeline]
last_update:
  date: 2024-11-02
  author: Ann
---
# Heron pipeline

The heron pipeline copies curated datasets between regions every night.
"""


def test_static_site_front_matter_is_accepted_with_notes(cli, write, tmp_path):
    write("jekyll-post.md", JEKYLL)
    write("hugo-page.md", HUGO)
    write("obsidian_GrebeProtocol.md", OBSIDIAN)
    write("docusaurus-doc.md", DOCUSAURUS)
    write("typo.md", "---\ntitel: Misspelt\n---\nThe stork rota changes on Mondays.\n")
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    counts = _counts(result.stderr)
    assert (counts["added"], counts["failed"]) == (5, 0)
    notes = _lines(result.stderr, "note")
    assert notes["jekyll-post.md"] == (
        "ignored front matter keys: layout, permalink | front matter 'type: post' is not a CoE "
        "document type (charter, operating-model, role, standard, checklist, playbook, lesson, "
        "training, vendor, faq, glossary); ignored"
    )
    assert notes["hugo-page.md"] == (
        "ignored front matter keys: weight, draft, params | front matter 'url: /release-train/' "
        "is not an absolute http(s) link; ignored"
    )
    assert notes["obsidian_GrebeProtocol.md"] == "ignored front matter keys: aliases, cssclasses"
    assert notes["docusaurus-doc.md"] == "ignored front matter keys: id, sidebar_position"
    assert notes["typo.md"] == "ignored front matter keys: titel (did you mean 'title'?)"

    entries = _entries(data)
    jekyll = entries["jekyll-post.md"]
    assert (jekyll.title, jekyll.owner, jekyll.modified) == (
        "Quarterly Review Process",
        "Dana Whitfield",
        date(2024, 3, 5),
    )
    assert jekyll.tags == ["planning", "review", "process"] and jekyll.doc_type is None
    hugo = entries["hugo-page.md"]
    assert (hugo.title, hugo.modified, hugo.source) == (
        "Egret Release Train",
        date(2025, 1, 10),
        "hugo-page.md",
    )
    obsidian = entries["obsidian_GrebeProtocol.md"]
    assert obsidian.title == "Obsidian Grebe Protocol"
    assert (obsidian.tags, obsidian.modified) == (["research", "notes"], date(2025, 2, 1))
    docusaurus = entries["docusaurus-doc.md"]
    assert docusaurus.owner == "Ann Lee, Bo Chen"
    assert docusaurus.description == "How the heron pipeline moves data between regions."
    assert (docusaurus.tags, docusaurus.modified) == (["heron", "pipeline"], date(2024, 11, 2))

    answer = cli.json(
        "ask", "How often does the ibis committee review roadmaps?", "--data-dir", str(data)
    )
    assert answer["sources"][0]["title"] == "Quarterly Review Process"
    assert answer["sources"][0]["owner"] == "Dana Whitfield"
    assert answer["sources"][0]["review_by"] is None  # a modified date is not a review date


def test_a_file_without_title_gets_a_readable_name_and_keeps_its_structure(cli, write, tmp_path):
    write(
        "LLM10_UnboundedConsumption.md",
        "## Description\n\nUnbounded consumption lets a caller run up inference costs without "
        "any limit being enforced.\n\n## Prevention\n\n- Rate limits\n- Quotas\n"
        "- Timeouts on every model call\n",
    )
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    rows = cli.json("search", "unbounded consumption costs", "--data-dir", str(data))
    assert rows[0]["title"] == "LLM10 Unbounded Consumption"
    text = _texts(cli, data, "LLM10_UnboundedConsumption.md")
    # H2s still make structure; the short items stay items on their own lines.
    assert "Description Unbounded" not in text.replace("\n", " ").replace("#", "")
    assert re.search(r"^#+ Prevention$", text, re.MULTILINE) or any(
        r["heading"] == "Prevention" for r in _chunks(cli, data)
    )
    assert "- Rate limits\n- Quotas\n" in text


def _pdf(path: Path, pages: list[list[str]], header: str | None = None, footer: bool = False):
    """A PDF whose pages hold exactly these lines (as an exporter positions them); "" leaves
    a gap, and the header and 'Page N of M' footer repeat on every page."""
    pdf = FPDF()
    for number, lines in enumerate(pages, 1):
        pdf.add_page()
        if header:
            pdf.set_font("Helvetica", size=8)
            pdf.text(20, 10, header)
        y = 25.0
        for line in lines:
            bold = line.startswith("**")
            pdf.set_font("Helvetica", "B" if bold else "", size=13 if bold else 11)
            if line:
                pdf.text(20, y, line.strip("*"))
            y += 6
        if footer:
            pdf.set_font("Helvetica", size=8)
            pdf.text(100, 287, f"Page {number} of {len(pages)}")
    pdf.output(str(path))


REPORT_PAGES = [
    [
        "**Data Retention Report",
        "Contents",
        "Description ........ 1",
        "Retention rules ........ 2",
        "",
        "**Description",
        "Agents with memory keep conversation state between calls, so every prompt they",
        "store is logged and deleted after thirty days unless legal asks otherwise. The",
        "retention clock starts when the conversation closes, not when it opens.",
        "",
        "Exports to the warehouse are reviewed by the data protection officer, who signs",
        "off each new destination before the first transfer and audits the effec-",
        "tiveness of the controls once a year.",
    ],
    [
        "**Retention rules",
        "Support transcripts are pseudonymised within a week and removed from the",
        "search index after ninety days; the anonymised statistics derived from them",
        "may be kept for five years.",
        "- Legal hold",
        "- Backups",
    ],
    [
        "**Exceptions",
        "A legal hold suspends every deletion rule for the records it names until the",
        "counsel who issued it lifts the hold in writing.",
    ],
]


def test_pdf_text_is_rejoined_and_running_headers_page_numbers_and_toc_are_dropped(
    cli, write, tmp_path
):
    _pdf(
        write.root / "retention.pdf",
        REPORT_PAGES,
        header="Northwind Analytics - Internal use only",
        footer=True,
    )
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    assert _lines(result.stderr, "note")["retention.pdf"] == (
        "PDF clean-up removed a running header or footer on 3 of 3 pages ('Northwind "
        "Analytics - Internal use only'); 3 page numbers; 2 table-of-contents lines"
    )
    text = _texts(cli, data, "retention.pdf")
    # Sentences that spanned line breaks are whole, the hyphenated word mended.
    assert (
        "Agents with memory keep conversation state between calls, so every prompt they "
        "store is logged and deleted after thirty days unless legal asks otherwise."
    ) in text
    assert "audits the effectiveness of the controls once a year." in text
    assert "removed from the search index after ninety days" in text
    # Headings are heading lines (or chunk headings), never the start of a sentence.
    headings = {r["heading"] for r in _chunks(cli, data) if r["doc_id"] == "retention.pdf"}
    for heading in ("Description", "Retention rules", "Exceptions"):
        assert re.search(rf"^#+ {heading}$", text, re.MULTILINE) or heading in headings
    assert not re.search(r"(Description|Retention rules|Exceptions)\n?[A-Z]", text)
    assert "- Legal hold\n- Backups" in text
    for clutter in ("Northwind", "Page 1 of 3", "Page 3 of 3", "........", "Contents"):
        assert clutter not in text, clutter
    assert "0 warnings" in result.stderr


def test_pdf_exports_with_blank_lines_or_one_word_per_line_become_paragraphs(cli, write, tmp_path):
    sentence = (
        "The heron pipeline copies curated datasets between regions every night and alerts "
        "the data platform rota when a copy fails twice."
    )
    words = sentence.split()
    wrapped = [" ".join(words[:8]), " ".join(words[8:16]), " ".join(words[16:])]
    doubled = [part for line in wrapped for part in (line, " ")]  # a blank line after each
    _pdf(write.root / "gdocs-export.pdf", [["**Heron pipeline", " ", *doubled]])
    kite = "Kite approvals expire after ninety days unless the owner renews them in writing."
    _pdf(write.root / "word-per-line.pdf", [kite.split()])
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    assert sentence in _texts(cli, data, "gdocs-export.pdf")
    assert kite in _texts(cli, data, "word-per-line.pdf")
    assert "0 warnings" in result.stderr


DOCS_PAGE = """<!doctype html><html><head><title>Model gateway onboarding - CoE Docs</title>
<meta name="description" content="Getting a key for the model gateway."></head><body>
<a href="#main" class="md-skip">Skip to content</a>
<div class="md-consent"><p>We use cookies to recognise your repeated visits.</p>
<button>Accept</button></div>
<header class="md-header"><a href="/">CoE Docs</a><div class="md-search">Search the docs</div>
</header>
<div class="md-container"><nav class="md-tabs"><ul><li><a href="/a">Home</a></li>
<li><a href="/b">Standards</a></li><li><a href="/c">Playbooks</a></li></ul></nav>
<main class="md-main"><div class="md-main__inner">
<div class="md-sidebar"><nav class="md-nav"><ul>
<li><a href="/x">Flamingo roadmap overview</a></li><li><a href="/y">Release calendar</a></li>
<li><a href="/z">Office locations</a></li></ul></nav></div>
<div class="md-sidebar md-sidebar--secondary"><label>Table of contents</label><ul>
<li><a href="#description">Description</a></li><li><a href="#tiers">Tiers</a></li>
<li><a href="#keys">Keys</a></li></ul></div>
<div class="md-content"><article class="md-content__inner">
<h1>Model gateway onboarding</h1>
<p>The gateway proxies every call to an approved model and records the cost
per team.</p>
<h2 id="description">Description</h2>
<p>Agents with memory keep state between calls, so their prompts are logged for thirty
days.</p>
<ul><li>Quota</li><li>Audit logs<ul><li>Weekly export</li></ul></li></ul>
<table><thead><tr><th>Tier</th><th>Monthly quota</th><th>Support</th></tr></thead>
<tbody><tr><td>Sandbox</td><td>50 USD</td><td>Community channel</td></tr>
<tr><td colspan="2">Production (5,000 USD)</td><td>On-call rota</td></tr></tbody></table>
<p>Teams request a production key through the consultation form.</p>
</article></div></div></main>
<footer class="md-footer"><p>Copyright 2025 Example Corp. Made with Material for MkDocs.</p>
</footer></div></body></html>"""


def test_a_docs_site_page_indexes_its_article_not_its_navigation(cli, write, tmp_path):
    write("gateway.html", DOCS_PAGE)
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    text = _texts(cli, data, "gateway.html")
    assert "Agents with memory keep state between calls, so their prompts are logged" in text
    assert "records the cost per team." in text
    assert "- Quota\n- Audit logs\n  - Weekly export" in text
    assert (
        "| Tier | Monthly quota | Support |\n|---|---|---|\n"
        "| Sandbox | 50 USD | Community channel |\n"
        "| Production (5,000 USD) |  | On-call rota |"
    ) in text
    for clutter in (
        "Skip to content",
        "cookies",
        "Search the docs",
        "Flamingo roadmap",
        "Office locations",
        "Table of contents",
        "Copyright",
        "Playbooks",
    ):
        assert clutter not in text, clutter
    rows = cli.json("search", "flamingo roadmap overview", "--data-dir", str(data))
    assert all("Flamingo" not in r["text"] for r in rows)
    assert rows[0]["title"] == "Model gateway onboarding"
    assert _entries(data)["gateway.html"].description == "Getting a key for the model gateway."


SPHINX_PAGE = """<!doctype html><html><head><title>Mitigation &#8212; Toolkit 0.14</title></head>
<body><div class="bd-container"><main id="main-content" class="bd-main" role="main">
<article class="bd-article">
<section id="mitigation"><h1>Mitigation<a class="headerlink" href="#mitigation"
title="Link to this heading">#</a></h1>
<div class="toctree-wrapper compound"><ul>
<li class="toctree-l1"><a class="reference internal" href="pre.html">Preprocessing</a></li>
<li class="toctree-l1"><a class="reference internal" href="post.html">Postprocessing</a>
<ul><li class="toctree-l2"><a class="reference internal" href="post.html#a">Threshold
tuning</a></li></ul></li>
<li class="toctree-l1"><a class="reference internal" href="red.html">Reductions</a></li>
<li class="toctree-l1"><a class="reference internal" href="adv.html">Adversarial</a></li>
</ul></div>
<section id="when-to-mitigate"><h2>When to mitigate<a class="headerlink"
href="#when-to-mitigate">¶</a></h2>
<p>Mitigate only after an assessment has named the harm and the groups it falls on.</p>
<p>The maintainers of the mitigation module are</p>
<ul><li>Ana Ruiz</li><li>Ben Ode</li></ul>
</section></section></article></main></div></body></html>"""


def test_a_sphinx_page_drops_permalink_marks_and_its_section_index(cli, write, tmp_path):
    """Sphinx and MkDocs put a '#' or '¶' link in every heading, and a section's index page
    lists its pages as links: neither belongs in a title or an answer."""
    write("mitigation.html", SPHINX_PAGE)
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    text = _texts(cli, data, "mitigation.html")
    assert "Mitigate only after an assessment has named the harm" in text
    for clutter in ("Preprocessing", "Threshold tuning", "Reductions", "#\n", "¶"):
        assert clutter not in text, clutter
    rows = cli.json("search", "when should we mitigate", "--data-dir", str(data))
    assert rows[0]["title"] == "Mitigation"
    assert rows[0]["heading"].endswith("When to mitigate")
    answer = cli.json("ask", "who maintains the mitigation module?", "--data-dir", str(data))
    # The sentence that stops short introduces the list: the names are quoted with it.
    assert "Ana Ruiz" in answer["answer"] and "Ben Ode" in answer["answer"]


def test_html_table_is_kept_as_a_markdown_table(cli, write, tmp_path):
    write(
        "tiers.html",
        "<html><body><h1>Support tiers</h1><p>Which rota answers which tier.</p>"
        "<table><tr><td>Tier</td><td>Rota</td></tr>"
        "<tr><td>Gold</td><td rowspan='2'>Platform on-call</td></tr>"
        "<tr><td>Silver</td></tr></table></body></html>",
    )
    data = tmp_path / "data"

    assert _ingest(cli, write.root, data).exit_code == 0
    assert (
        "| Tier | Rota |\n|---|---|\n| Gold | Platform on-call |\n| Silver | Platform on-call |"
    ) in _texts(cli, data, "tiers.html")


def _word_table(path: Path) -> None:
    document = docx.Document()
    document.add_heading("Service catalogue", level=1)
    document.add_paragraph("The catalogue lists each service with its owning team.")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Product/Service"
    table.cell(0, 2).text = "Owner"
    for row, values in enumerate([("Gateway", "API", "Platform team"), ("Search", "UI", "Data")]):
        for column, value in enumerate(values):
            table.cell(row + 1, column).text = value
    document.add_paragraph("Ask the owner before changing a service.")
    document.save(str(path))


def test_word_table_keeps_its_header_and_writes_a_merged_cell_once(cli, write, tmp_path):
    _word_table(write.root / "catalogue.docx")
    data = tmp_path / "data"

    assert _ingest(cli, write.root, data).exit_code == 0
    text = _texts(cli, data, "catalogue.docx")
    table = (
        "| Product/Service |  | Owner |\n|---|---|---|\n"
        "| Gateway | API | Platform team |\n| Search | UI | Data |"
    )
    assert table in text
    assert text.count("Product/Service") == 1
    # In the document's order: the table sits between the paragraphs around it.
    assert text.index("owning team.") < text.index(table) < text.index("Ask the owner")


def test_chunks_split_a_long_table_between_rows_and_repeat_its_header(cli, write, tmp_path):
    rows = "\n".join(
        f"| Vendor {n} | model family {n} hosted in region eu-{n} | contract ends {2025 + n % 5} |"
        for n in range(60)
    )
    write("vendors.md", f"# Vendors\n\n| Vendor | Models | Contract |\n|---|---|---|\n{rows}\n")
    data = tmp_path / "data"

    assert _ingest(cli, write.root, data).exit_code == 0
    pieces = [
        r["text"] for r in _chunks(cli, data, "vendor contract") if r["doc_id"] == "vendors.md"
    ]
    assert len(pieces) > 1
    for piece in pieces:
        assert piece.startswith("| Vendor | Models | Contract |\n|---|---|---|\n| Vendor ")
        rows = piece.splitlines()[2:]
        assert all(row.startswith("| Vendor ") and row.endswith(" |") for row in rows)
    assert sum(piece.count("| Vendor ") - 1 for piece in pieces) == 60


GARBLED = "\n".join(
    ["Supplier review", "....", "12", "the", "of", "Page 3", "- - -", "and", "•", "xii"] * 4
)


def test_a_garbled_file_warns_and_a_file_without_text_fails(cli, write, tmp_path):
    write("good.md", "# Good\n\nThe pelican process is documented here.\n")
    write("garbled.txt", GARBLED)
    data = tmp_path / "data"

    result = _ingest(cli, write.root, data)

    assert result.exit_code == 0, result.output
    warning = _lines(result.stderr, "warning")["garbled.txt"]
    assert re.fullmatch(
        r"text looks garbled: 100% of its 40 lines look like clutter \(fragments, page numbers, "
        r"punctuation or repeated lines\); [\d,]+ characters indexed of [\d,]+ extracted\. "
        r"Check it with `coe search`, or export the file again \(e\.g\. as Markdown or Word\)",
        warning,
    )
    assert re.search(r"Ingest: 2 added, .*0 failed, 1 warning \(", result.stderr)

    blank = FPDF()
    blank.add_page()
    blank.rect(20, 20, 50, 50)
    blank.output(str(write.root / "scan.pdf"))
    write("empty-page.html", "<html><body><nav><a href='/'>Home</a></nav><script>1</script>")
    again = _ingest(cli, write.root, data)
    assert again.exit_code == 1
    failed = _lines(again.stderr, "failed")
    assert failed["scan.pdf"] == "PDF has no extractable text (a scanned image?)"
    assert failed["empty-page.html"] == "document has no text to index"


DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core


@pytest.mark.skipif(not DEJAVU.is_file(), reason="needs a Unicode font with ligature glyphs")
def test_pdf_ligatures_are_normalised(cli, write, tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(DEJAVU))
    pdf.set_font("DejaVu", size=11)
    pdf.text(20, 30, "The ﬁnance oﬃce signs oﬀ every eﬃciency review.")
    pdf.output(str(write.root / "ligatures.pdf"))
    data = tmp_path / "data"

    assert _ingest(cli, write.root, data).exit_code == 0
    text = _texts(cli, data, "ligatures.pdf")
    assert "The finance office signs off every efficiency review." in text
