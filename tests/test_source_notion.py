"""Notion as a source: pages synced from a local Notion API double, then asked about with the
real CLI, as an operator and a user would see them."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ingest.errors import DocumentError
from ingest.index_store import read_manifest
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources.base import SourceError, check
from ingest.sources.notion import NotionConfig, NotionSource, page_markdown
from tests.notion_double import (
    NotionDouble,
    bullet,
    code,
    columns,
    divider,
    heading,
    image,
    numbered,
    paragraph,
    table,
    todo,
    toggle,
)

INTAKE = "Requests for a new model are reviewed every Tuesday by the model review board."
QUESTION = "When are requests for a new model reviewed?"


@pytest.fixture()
def notion():
    server = NotionDouble().start()
    yield server
    server.stop()


def _source(notion: NotionDouble, root: str | None = None, **config: Any) -> NotionSource:
    settings: dict[str, Any] = {
        "type": "notion",
        "name": "wiki",
        "api_url": notion.url,
        "max_retry_wait_s": 0.05,
        **config,
    }
    if root is not None:
        settings["root_page"] = root
    return NotionSource(NotionConfig(**settings), {"NOTION_TOKEN": notion.token})


def _sync(data: Path, source: NotionSource, max_bytes: int = 10_000_000) -> IngestReport:
    return run_ingest([], data, max_bytes, sources=[source])


def _ask(cli, data: Path, question: str, *extra: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(data), *extra)


def _cited(answer: dict) -> set[str]:
    return {s["source"] for s in answer["sources"] if s["cited"]}


def _outcomes(report: IngestReport) -> dict[str, str]:
    return {r.path: r.outcome.value for r in report.results}


def _handbook(notion: NotionDouble) -> tuple[str, str]:
    """A root page and one subpage with the intake rule; returns their ids."""
    root = notion.add_page("CoE Handbook", [paragraph("The CoE helps teams ship AI safely.")])
    intake = notion.add_page("Model intake", [paragraph(INTAKE)], parent=root, tags=["intake"])
    return root, intake


# -- answers and permissions -------------------------------------------------------------------


def test_a_synced_page_is_answered_and_cites_its_own_notion_page(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    # Pages below a subpage, and pages laid out in columns, are found too.
    notion.add_page("Vendor reviews", [paragraph("Vendor contracts are renewed each March.")],
                    parent=intake)  # fmt: skip
    notion.edit(root, [paragraph("The CoE helps teams ship AI safely."),
                       columns([paragraph("Left column.")], [paragraph("Right column.")])])  # fmt: skip
    column = notion.block_ids(root, "column")[1]
    in_column = notion.add_page("Red teaming", [paragraph("Red teams meet on Fridays.")],
                                parent=column)  # fmt: skip

    data = tmp_path / "data"
    report = _sync(data, _source(notion, root, public=True))
    assert not report.failed and not report.failed_sources
    assert sorted(_outcomes(report)) == [
        "CoE Handbook", "Model intake", "Red teaming", "Vendor reviews",
    ]  # fmt: skip

    answer = _ask(cli, data, QUESTION)
    assert answer["abstained"] is False
    assert "Tuesday" in answer["answer"]
    assert notion.url_of(intake) in _cited(answer)
    cited = next(s for s in answer["sources"] if s["source"] == notion.url_of(intake))
    assert cited["title"] == "Model intake" and cited["owner"] == "Priya Raman"
    assert notion.url_of(in_column) in _cited(_ask(cli, data, "When do red teams meet?"))

    entry = read_manifest(data).files[f"wiki/{intake}"]
    assert entry.audience == "everyone" and entry.restricted is False
    assert entry.tags == ["intake"] and entry.source == notion.url_of(intake)


def test_notion_pages_are_staff_only_unless_the_source_says_public(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    data = tmp_path / "data"
    assert not _sync(data, _source(notion, root)).failed

    entry = read_manifest(data).files[f"wiki/{intake}"]
    assert entry.audience == "coe-staff" and entry.restricted is True
    everyone = _ask(cli, data, QUESTION)
    assert notion.url_of(intake) not in {s["source"] for s in everyone["sources"]}
    assert "Tuesday" not in everyone["answer"]
    hits = cli.json("search", QUESTION, "--data-dir", str(data), "-k", "20")
    assert not [h for h in hits if h["doc_id"] == f"wiki/{intake}"]
    staff = _ask(cli, data, QUESTION, "--staff")
    assert notion.url_of(intake) in _cited(staff)


# -- syncing again -------------------------------------------------------------------------------


def test_an_unchanged_sync_reads_no_page_content_again(notion, tmp_path):
    root = notion.add_page("CoE Handbook", [
        paragraph("The CoE helps teams ship AI safely."),
        toggle("Escalations", paragraph("Escalate incidents to the on-call lead.")),
        table([["Tier", "Discount"], ["Gold", "20%"]]),
    ])  # fmt: skip
    intake = notion.add_page("Model intake", [bullet(INTAKE, bullet("Bring a model card."))],
                             parent=root)  # fmt: skip
    # The blocks whose children are page content: the toggle, the table, the outer bullet.
    containers = {
        *notion.block_ids(root, "toggle"),
        *notion.block_ids(root, "table"),
        notion.block_ids(intake, "bulleted_list_item")[0],
    }
    data = tmp_path / "data"
    source = _source(notion, root)
    assert not _sync(data, source).failed
    assert set(notion.children_requested()) == {root, intake, *containers}

    notion.requests.clear()
    again = _sync(data, source)
    assert set(_outcomes(again).values()) == {"unchanged"}
    assert again.chunks_embedded == 0 and not again.published
    # Listing reads each page's top level once (to find subpages); nothing below it.
    assert sorted(notion.children_requested()) == sorted([root, intake])


def test_an_unchanged_database_sync_reads_no_blocks_at_all(notion, tmp_path):
    database = notion.add_database("Decisions")
    for n in range(3):
        notion.add_page(f"Decision {n}", [paragraph(f"We chose option {n}.")], database=database)
    data = tmp_path / "data"
    source = _source(notion, database=database)
    assert [r.outcome.value for r in _sync(data, source).results] == ["added"] * 3
    notion.requests.clear()
    again = _sync(data, source)
    assert [r.outcome.value for r in again.results] == ["unchanged"] * 3
    assert notion.of("blocks") == []


def test_an_edited_page_is_fetched_again_and_its_new_text_answered(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    data = tmp_path / "data"
    source = _source(notion, root, public=True)
    _sync(data, source)
    notion.edit(intake, [paragraph(INTAKE.replace("Tuesday", "Thursday"))])

    report = _sync(data, source)
    assert _outcomes(report) == {"CoE Handbook": "unchanged", "Model intake": "updated"}
    answer = _ask(cli, data, QUESTION)
    assert "Thursday" in answer["answer"] and "Tuesday" not in answer["answer"]
    assert notion.url_of(intake) in _cited(answer)


def test_an_edit_in_the_same_minute_as_the_last_sync_is_not_missed(cli, notion, tmp_path):
    """Notion rounds last_edited_time down to the minute: a page edited within the minute
    before a sync is compared by content, so a second edit in that minute is still seen."""
    root, intake = _handbook(notion)
    now = datetime(2025, 3, 3, 10, 0, 40, tzinfo=UTC)
    notion.edit(intake, [paragraph(INTAKE)], at=now - timedelta(seconds=30))
    data = tmp_path / "data"
    source = NotionSource(
        NotionConfig(type="notion", name="wiki", root_page=root, api_url=notion.url, public=True),
        {"NOTION_TOKEN": notion.token},
        now=lambda: now,
    )
    _sync(data, source)
    notion.edit(intake, [paragraph(INTAKE.replace("Tuesday", "Wednesday"))], at=now)

    assert _outcomes(_sync(data, source))["Model intake"] == "updated"
    assert "Wednesday" in _ask(cli, data, QUESTION)["answer"]


def test_an_archived_or_deleted_page_is_removed_and_no_longer_cited(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    gone = notion.add_page("Old policy", [paragraph("Old models are retired in June.")],
                           parent=root)  # fmt: skip
    data = tmp_path / "data"
    source = _source(notion, root, public=True)
    _sync(data, source)
    intake_url, gone_url = notion.url_of(intake), notion.url_of(gone)
    notion.archive(intake)
    notion.purge(gone)

    report = _sync(data, source)
    assert _outcomes(report) == {
        "CoE Handbook": "unchanged", intake_url: "removed", gone_url: "removed",
    }  # fmt: skip
    assert set(read_manifest(data).files) == {f"wiki/{root}"}
    answer = _ask(cli, data, QUESTION)
    assert not {intake_url, gone_url} & {s["source"] for s in answer["sources"]}


def test_long_lists_are_read_page_by_page(cli, tmp_path):
    notion = NotionDouble(page_size=2).start()
    try:
        root = notion.add_page("CoE Handbook", [paragraph(f"Rule {n} of the CoE.") for n in range(5)]
                               + [paragraph("Rule five: every launch has a named owner.")])  # fmt: skip
        for n in range(3):
            notion.add_page(f"Team {n}", [paragraph(f"Team {n} sits on floor {n}.")], parent=root)
        database = notion.add_database("Decisions", parent=root)
        for n in range(5):
            notion.add_page(f"Decision {n}", [paragraph(f"Decision {n} stands.")],
                            database=database)  # fmt: skip
        data = tmp_path / "data"
        report = _sync(data, _source(notion, root, public=True))

        assert [r.outcome.value for r in report.results] == ["added"] * (1 + 3 + 5)
        cursors = [r for r in notion.of("query") if r.body.get("start_cursor")]
        assert len(cursors) == 2  # five rows, two per answer
        root_reads = [r for r in notion.of("blocks") if r.path == f"/v1/blocks/{root}/children"]
        assert len(root_reads) == 5  # 6 paragraphs, 3 subpages and a database, two at a time
        answer = _ask(cli, data, "Who must every launch have?")
        assert "named owner" in answer["answer"]
    finally:
        notion.stop()


# -- failures ------------------------------------------------------------------------------------


def test_a_rate_limit_is_waited_out_for_its_retry_after(notion, tmp_path):
    root, _ = _handbook(notion)
    notion.rate_limit(times=1, retry_after="1")
    report = _sync(tmp_path / "data", _source(notion, root, max_retry_wait_s=60))

    assert not report.failed_sources and len(report.results) == 2
    limited, retried = notion.requests[0], notion.requests[1]
    assert limited.status == 429 and retried.status == 200 and retried.path == limited.path
    assert retried.at - limited.at >= 0.9


def test_a_rate_limit_that_never_lifts_fails_the_source_and_keeps_its_pages(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    data = tmp_path / "data"
    _sync(data, _source(notion, root, public=True))
    notion.requests.clear()
    notion.rate_limit(times=None, retry_after="30")

    started = time.monotonic()
    report = _sync(data, _source(notion, root, public=True, max_retries=3))
    assert time.monotonic() - started < 10  # Retry-After: 30 was capped at max_retry_wait_s
    [failed] = report.failed_sources
    assert "rate limited" in failed.error and "gave up after 4 tries" in failed.error
    assert len(notion.requests) == 4
    assert len(read_manifest(data).files) == 2
    assert notion.url_of(intake) in _cited(_ask(cli, data, QUESTION))


def test_a_refused_token_fails_the_source_and_keeps_its_pages(cli, notion, tmp_path):
    root, intake = _handbook(notion)
    data = tmp_path / "data"
    _sync(data, _source(notion, root, public=True))
    notion.bad_token = True

    report = _sync(data, _source(notion, root, public=True))
    [failed] = report.failed_sources
    assert "Notion refused the token in $NOTION_TOKEN" in failed.error
    assert notion.token not in failed.error
    assert notion.url_of(intake) in _cited(_ask(cli, data, QUESTION))


def test_setup_mistakes_are_reported_in_words(notion):
    root, _ = _handbook(notion)
    config = {"type": "notion", "name": "wiki", "api_url": notion.url}

    missing = check(NotionSource(NotionConfig(**config, root_page=root, token_env="WIKI_KEY"), {}))
    assert not missing.ok and "WIKI_KEY is not set" in missing.detail

    unshared = check(_source(notion, "0123456789abcdef0123456789abcdef"))
    assert not unshared.ok and "Connections" in unshared.detail
    unshared_db = check(_source(notion, database="0123456789abcdef0123456789abcdef"))
    assert not unshared_db.ok and "database" in unshared_db.detail

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = check(NotionSource(NotionConfig(**{**config, "api_url": closed}, root_page=root),
                              {"NOTION_TOKEN": notion.token}))  # fmt: skip
    assert not down.ok and f"cannot reach Notion at {closed}" in down.detail

    assert check(_source(notion, root)).items == 2


def test_the_entry_names_exactly_one_root_page_or_database():
    with pytest.raises(ValidationError, match="exactly one of root_page"):
        NotionConfig(type="notion", name="wiki")
    with pytest.raises(ValidationError, match="exactly one of root_page"):
        NotionConfig(type="notion", name="wiki", root_page="a" * 32, database="b" * 32)
    with pytest.raises(ValidationError, match="neither a Notion id"):
        NotionConfig(type="notion", name="wiki", root_page="handbook")
    from_url = NotionConfig(
        type="notion", name="wiki",
        root_page="https://www.notion.so/acme/CoE-Handbook-0123456789abcdef0123456789abcdef",
    )  # fmt: skip
    assert from_url.root_page == "01234567-89ab-cdef-0123-456789abcdef"


def test_a_page_too_large_is_refused_alone_and_not_read_to_the_end(tmp_path):
    notion = NotionDouble(page_size=10).start()
    try:
        database = notion.add_database("Runbooks")
        filler = "This runbook line is long enough to count for about a hundred bytes of text."
        huge = notion.add_page("Huge runbook", [paragraph(f"{n} {filler}") for n in range(60)],
                               database=database)  # fmt: skip
        notion.add_page("Small runbook", [paragraph("Restart the gateway first.")],
                        database=database)  # fmt: skip
        report = _sync(tmp_path / "data", _source(notion, database=database), max_bytes=2_000)

        [refused] = report.failed
        assert refused.path == "Huge runbook" and "over the 2,000 bytes limit" in refused.reason
        assert _outcomes(report)["Small runbook"] == "added"
        reads = [r for r in notion.of("blocks") if r.path == f"/v1/blocks/{huge}/children"]
        assert len(reads) < 6  # 60 blocks, 10 per answer: reading stopped at the limit
    finally:
        notion.stop()


def test_a_page_deleted_between_listing_and_loading_fails_alone(notion, tmp_path):
    database = notion.add_database("Decisions")
    doomed = notion.add_page("Doomed", [paragraph("Soon gone.")], database=database)
    notion.add_page("Kept", [paragraph("We keep this one.")], database=database)
    query = f"/v1/data_sources/{notion.data_source_of(database)}/query"
    notion.after(query, lambda: notion.purge(doomed))

    report = _sync(tmp_path / "data", _source(notion, database=database))
    [failed] = report.failed
    assert failed.path == "Doomed" and "deleted or unshared since it was listed" in failed.reason
    assert _outcomes(report)["Kept"] == "added" and not report.failed_sources


def test_a_page_whose_blocks_cannot_be_fetched_fails_alone(notion, tmp_path):
    database = notion.add_database("Decisions")
    closed = notion.add_page("Closed", [paragraph("The connection drops.")], database=database)
    down = notion.add_page("Down", [paragraph("Always unavailable.")], database=database)
    notion.add_page("Kept", [paragraph("We keep this one.")], database=database)
    data = tmp_path / "data"
    assert _outcomes(_sync(data, _source(notion, database=database))) == {
        "Closed": "added", "Down": "added", "Kept": "added",
    }  # fmt: skip
    before = {key: entry.version for key, entry in read_manifest(data).files.items()}

    notion.edit(closed, [paragraph("Rewritten.")])
    notion.edit(down, [paragraph("Rewritten.")])
    notion.fail(f"/v1/blocks/{closed}/children", "close")  # no answer, every time
    notion.fail(f"/v1/blocks/{down}/children", 503)  # still 503 after the client's retries
    report = _sync(data, _source(notion, database=database, max_retries=2))
    assert not report.failed_sources
    assert _outcomes(report) == {"Closed": "failed", "Down": "failed", "Kept": "unchanged"}
    failed = {r.path: r.reason for r in report.failed}
    assert f"cannot reach Notion at {notion.url}" in failed["Closed"]
    assert "Notion answered 503 service_unavailable" in failed["Down"]
    assert all("previously ingested version stays" in reason for reason in failed.values())
    assert all(notion.token not in reason for reason in failed.values())
    tries = [r for r in notion.requests if r.path == f"/v1/blocks/{down}/children"]
    assert len(tries) == 1 + 1 + 2  # the first sync's, then three tries
    after = {key: entry.version for key, entry in read_manifest(data).files.items()}
    assert after == before  # the pages that failed keep their last indexed version


def test_a_login_page_instead_of_json_fails_the_listing_saying_so(notion, tmp_path):
    root, intake = _handbook(notion)
    data = tmp_path / "data"
    _sync(data, _source(notion, root))
    notion.login_page = True  # a proxy answers 200 with its HTML sign-in page
    with pytest.raises(SourceError, match="is not JSON") as raised:
        list(_source(notion, root).items())
    assert notion.url in str(raised.value)
    [failed] = _sync(data, _source(notion, root)).failed_sources
    assert "is not JSON" in failed.error and notion.token not in failed.error
    assert f"wiki/{intake}" in read_manifest(data).files


def test_an_answer_httpx_cannot_decode_fails_the_listing_not_the_run(notion):
    root, intake = _handbook(notion)
    notion.fail(f"/v1/pages/{intake}", "garbled")  # says gzip, is not
    with pytest.raises(SourceError, match="DecodingError") as raised:
        list(_source(notion, root).items())
    assert notion.url in str(raised.value) and f"page {intake}" in str(raised.value)


# -- Markdown ------------------------------------------------------------------------------------


def _rich(text: str) -> list[dict]:
    return [{"type": "text", "text": {"content": text, "link": None}, "plain_text": text,
             "href": None, "annotations": {}}]  # fmt: skip


def test_tables_and_code_blocks_become_markdown_that_keeps_both():
    blocks = {
        "page": [
            {"object": "block", "id": "t1", "type": "table", "has_children": True,
             "table": {"table_width": 2, "has_column_header": True, "has_row_header": False}},
            {"object": "block", "id": "c1", "type": "code", "has_children": False,
             "code": {"rich_text": _rich("key = rotate(old)\nsave(key)"), "caption": [],
                      "language": "python"}},
        ],
        "t1": [
            {"object": "block", "id": "r1", "type": "table_row", "has_children": False,
             "table_row": {"cells": [_rich("Tier"), _rich("Discount")]}},
            {"object": "block", "id": "r2", "type": "table_row", "has_children": False,
             "table_row": {"cells": [_rich("Gold | Plus"), _rich("20%")]}},
        ],
    }  # fmt: skip
    text = page_markdown("Vendor terms", "page", blocks.__getitem__, 10_000)
    assert text == (
        "# Vendor terms\n\n"
        "| Tier | Discount |\n|---|---|\n| Gold \\| Plus | 20% |\n\n"
        "```python\nkey = rotate(old)\nsave(key)\n```\n"
    )


def test_lists_headings_and_todos_become_markdown():
    notion = NotionDouble()  # its storage builds real block JSON; no server needed
    page = notion.add_page("Launch", [
        heading(1, "Before launch"), todo("Model card written", checked=True),
        todo("Red team report filed"), heading(2, "Steps"), numbered("Open a request"),
        numbered("Wait for review", bullet("Usually a day")), divider(), image("https://x/y.png"),
        toggle("Details", paragraph("Ask the CoE.")),
    ])  # fmt: skip

    assert page_markdown("Launch", page, notion.children_json, 10_000) == (
        "# Launch\n\n## Before launch\n\n- [x] Model card written\n- [ ] Red team report filed\n\n"
        "### Steps\n\n1. Open a request\n2. Wait for review\n   - Usually a day\n\n"
        "Details\n\nAsk the CoE.\n"
    )


def test_a_malformed_block_is_a_clear_document_error():
    broken = [{"object": "block", "id": "b1", "type": "paragraph", "has_children": False,
               "paragraph": {"rich_text": "not a list"}}]  # fmt: skip
    with pytest.raises(DocumentError, match=r"malformed paragraph block \(b1\)"):
        page_markdown("Broken", "page", lambda _: broken, 10_000)
    with pytest.raises(DocumentError, match="has no type"):
        page_markdown("Broken", "page", lambda _: [{"id": "b2"}], 10_000)


def test_tables_code_and_todos_survive_a_sync(cli, notion, tmp_path):
    root = notion.add_page("Vendor terms", [
        paragraph("Discounts depend on the vendor tier."),
        table([["Tier", "Discount"], ["Gold", "20%"], ["Silver", "10%"]]),
        code("gateway rotate-key --service chat", "shell"),
    ])  # fmt: skip
    launch = notion.add_page("Launch checklist", [
        heading(1, "Before launch"), todo("Model card written"), todo("Red team report filed"),
    ], parent=root)  # fmt: skip
    data = tmp_path / "data"
    assert not _sync(data, _source(notion, root, public=True)).failed

    hits = cli.json("search", "vendor tier discount gold", "--data-dir", str(data), "-k", "3")
    texts = "\n".join(h["text"] for h in hits)
    assert "| Tier | Discount |" in texts and "| Gold | 20% |" in texts
    assert "```shell\ngateway rotate-key --service chat\n```" in texts
    checklist = read_manifest(data).files[f"wiki/{launch}"].checklist
    assert checklist is not None
    assert [(s.title, s.items) for s in checklist.sections] == [
        ("Before launch", ["Model card written", "Red team report filed"])
    ]
