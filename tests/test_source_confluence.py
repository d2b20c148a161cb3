"""Confluence spaces as a source, against a local double of Confluence's REST API: synced
pages are answered with their own links, restricted pages stay with staff, unchanged pages
are never fetched again, and a Confluence that refuses or rate-limits keeps the last good
content searchable."""

from __future__ import annotations

import io
import socket
import time
from pathlib import Path

import docx
import pytest
from bs4 import BeautifulSoup

from ingest.errors import DocumentError
from ingest.frontmatter import split_front_matter
from ingest.index_store import read_manifest
from ingest.pipeline import IngestReport, Outcome, run_ingest
from ingest.sources.base import SourceError, check
from ingest.sources.confluence import (
    ConfluenceConfig,
    ConfluenceSource,
    _keeps_someone_out,
    storage_to_markdown,
)
from tests.confluence_double import TOKEN, USERNAME, ConfluenceDouble

DEPLOYS = (
    "<p>Production deploys of the billing service happen on Tuesdays, once the change "
    "board led by Ingrid Halvorsen has approved them.</p>"
)
SALARIES = (
    "<p>The salary bands for machine learning engineers are reviewed every March by the "
    "compensation committee chaired by Theo Marchetti.</p>"
)
ONCALL = (
    "<p>The inference platform on-call rotation hands over every Monday at 10:00 and the "
    "outgoing engineer writes the handover note in the rotation channel.</p>"
)
TABLE_AND_CODE = """
<h2>Support tiers</h2>
<table><tbody>
<tr><th>Tier</th><th>Responder</th><th>First answer</th></tr>
<tr><td rowspan="2">Gold</td><td>Priyanka Das</td><td>within one hour</td></tr>
<tr><td>Mateus Rocha</td><td>within two hours</td></tr>
<tr><td>Bronze</td><td colspan="2">next working day</td></tr>
</tbody></table>
<ac:structured-macro ac:name="code" ac:schema-version="1">
<ac:parameter ac:name="language">bash</ac:parameter>
<ac:plain-text-body><![CDATA[kubectl rollout restart deployment/support-router --namespace=tiers
echo "restarted <support-router> & done"]]></ac:plain-text-body>
</ac:structured-macro>
"""


def _ask(cli, data: Path, question: str, *extra: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(data), *extra)


def _cited(answer: dict) -> set[str]:
    return {s["source"] for s in answer["sources"] if s["cited"]}


def _doc_ids(answer: dict) -> set[str]:
    return {s["doc_id"] for s in answer["sources"]}


@pytest.fixture()
def wiki():
    """A Confluence Cloud site with one space, ENG, and no pages yet."""
    server = ConfluenceDouble().start()
    server.add_space("ENG", "Engineering")
    yield server
    server.stop()


def _source(site: ConfluenceDouble, environ: dict[str, str] | None = None, **settings):
    config = ConfluenceConfig.model_validate(
        {
            "type": "confluence",
            "name": "wiki",
            "url": site.url,
            "cloud": site.cloud,
            "spaces": ["ENG"],
            "username": USERNAME if site.cloud else None,
            "token_env": "CONFLUENCE_TOKEN",
            "max_retries": 2,
            "max_retry_wait_s": 5,
            **settings,
        }
    )
    return ConfluenceSource(config, {"CONFLUENCE_TOKEN": TOKEN} if environ is None else environ)


def _sync(data: Path, site: ConfluenceDouble, **settings) -> IngestReport:
    return run_ingest([], data, 10_000_000, sources=[_source(site, **settings)])


def _outcomes(report: IngestReport) -> dict[str, Outcome]:
    return {r.path: r.outcome for r in report.results}


def _only_error(report: IngestReport) -> str:
    assert [s.name for s in report.failed_sources] == ["wiki"]
    error = report.failed_sources[0].error
    assert error is not None and TOKEN not in error
    return error


# -- end to end ---------------------------------------------------------------------------


def test_a_page_is_answered_citing_its_own_link_and_is_not_fetched_again(cli, wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS, labels=["release", "billing"])
    wiki.add_page("ENG", "On-call", ONCALL, editor="Kofi Mensah")
    first = _sync(data, wiki)
    assert first.count(Outcome.ADDED) == 2 and not first.failed_sources

    answer = _ask(cli, data, "When are billing service deploys to production?")
    assert answer["abstained"] is False
    assert "Tuesdays" in answer["answer"]
    link = f"{wiki.url}/spaces/ENG/pages/{deploys}/Billing+deploys"
    assert link in _cited(answer)
    entry = read_manifest(data).by_source()[f"wiki/{deploys}"]
    assert (entry.title, entry.owner, entry.version) == ("Billing deploys", "Ana Lima", "1")
    assert {"release", "billing"} <= set(entry.tags) and entry.audience == "everyone"
    assert str(entry.modified) == "2026-01-05"

    wiki.requests.clear()
    second = _sync(data, wiki)
    assert second.count(Outcome.UNCHANGED) == 2 and not second.published
    assert wiki.body_requests() == []  # listed, never fetched
    assert len(wiki.search_requests()) == 1


def test_an_edited_page_is_fetched_again_and_a_deleted_one_is_removed(cli, wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    oncall = wiki.add_page("ENG", "On-call", ONCALL)
    _sync(data, wiki)

    wiki.edit(deploys, DEPLOYS.replace("on Tuesdays", "on Thursdays"))
    wiki.delete(oncall)
    wiki.requests.clear()
    report = _sync(data, wiki)
    link = f"{wiki.url}/spaces/ENG/pages"
    assert _outcomes(report) == {
        "ENG: Billing deploys": Outcome.UPDATED,
        f"{link}/{oncall}/On-call": Outcome.REMOVED,
    }
    assert [r.path for r in wiki.body_requests()] == [f"/rest/api/content/{deploys}"]
    entry = read_manifest(data).by_source()[f"wiki/{deploys}"]
    assert (entry.version, entry.owner, str(entry.modified)) == ("2", "Bruno Costa", "2026-01-07")

    answer = _ask(cli, data, "When are billing service deploys to production?")
    assert "Thursdays" in answer["answer"] and "Tuesdays" not in answer["answer"]
    gone = _ask(cli, data, "When does the inference platform on-call rotation hand over?")
    assert f"wiki/{oncall}" not in _doc_ids(gone)
    assert "handover note" not in gone["answer"]


def test_restricted_pages_are_answered_to_staff_only(cli, wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    hr = wiki.add_page("ENG", "People", "<p>People team pages.</p>", read_groups=["people"])
    salaries = wiki.add_page("ENG", "Salary bands", SALARIES, parent=hr)  # inherits
    oncall = wiki.add_page("ENG", "On-call", ONCALL, read_groups=["all-staff", "people"])
    _sync(data, wiki, everyone_group="all-staff")

    files = read_manifest(data).by_source()
    audience = {key: (f.audience, f.restricted) for key, f in files.items()}
    assert audience == {
        f"wiki/{deploys}": ("everyone", False),
        f"wiki/{hr}": ("coe-staff", True),
        f"wiki/{salaries}": ("coe-staff", True),
        f"wiki/{oncall}": ("everyone", False),  # restricted to the group everyone is in
    }
    question = "Who reviews the salary bands for machine learning engineers?"
    public = _ask(cli, data, question)
    assert f"wiki/{salaries}" not in _doc_ids(public)
    assert "Theo Marchetti" not in public["answer"]
    hits = cli.json("search", question, "--data-dir", str(data), "-k", "50")
    assert not {h["doc_id"] for h in hits} & {f"wiki/{salaries}", f"wiki/{hr}"}
    staff = _ask(cli, data, question, "--staff")
    assert "Theo Marchetti" in staff["answer"]
    assert f"wiki/{salaries}" in _doc_ids(staff)

    # A restriction added later bumps no version; the next sync still hides the page.
    wiki.restrict(deploys, groups=["billing-team"])
    _sync(data, wiki, everyone_group="all-staff")
    assert read_manifest(data).by_source()[f"wiki/{deploys}"].audience == "coe-staff"
    later = _ask(cli, data, "When are billing service deploys to production?")
    assert "Tuesdays" not in later["answer"] and f"wiki/{deploys}" not in _doc_ids(later)


def test_a_listing_longer_than_one_answer_is_followed_to_its_end(wiki, tmp_path):
    wiki.page_size = 2
    pages = [
        wiki.add_page("ENG", f"Runbook {n}", f"<p>Runbook number {n} restarts queue {n}.</p>")
        for n in range(5)
    ]
    report = _sync(tmp_path / "data", wiki)
    assert report.count(Outcome.ADDED) == 5
    assert set(read_manifest(tmp_path / "data").by_source()) == {f"wiki/{p}" for p in pages}
    assert [r.query.get("start", "0") for r in wiki.search_requests()] == ["0", "2", "4"]


def test_a_rate_limit_is_waited_out_as_retry_after_says(wiki, tmp_path):
    wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    wiki.rate_limit(1, retry_after="1")
    report = _sync(tmp_path / "data", wiki)
    assert report.count(Outcome.ADDED) == 1 and not report.failed_sources
    limited, retried = wiki.requests[0], wiki.requests[1]
    assert (limited.status, retried.status) == (429, 200)
    assert retried.at - limited.at >= 0.95

    # A wait longer than max_retry_wait_s is cut short.
    wiki.add_page("ENG", "On-call", ONCALL)
    wiki.rate_limit(1, retry_after="30")
    started = time.monotonic()
    report = _sync(tmp_path / "data", wiki, max_retry_wait_s=0.2)
    assert report.count(Outcome.ADDED) == 1 and not report.failed_sources
    assert time.monotonic() - started < 15


def test_a_rate_limit_that_never_lifts_fails_the_source_and_keeps_its_pages(cli, wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    _sync(data, wiki)
    wiki.rate_limit(None, retry_after="0")
    wiki.requests.clear()
    report = _sync(data, wiki)
    error = _only_error(report)
    assert "rate limited" in error and "gave up after 3 tries" in error
    assert len(wiki.requests) == 3  # max_retries 2: three tries in all
    assert f"wiki/{deploys}" in read_manifest(data).by_source()
    answer = _ask(cli, data, "When are billing service deploys to production?")
    assert "Tuesdays" in answer["answer"]


def test_refused_credentials_name_the_setting_and_keep_the_last_content(cli, wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    _sync(data, wiki)
    wiki.wrong_credentials = True
    wiki.delete(deploys)  # not seen: the listing is refused
    report = _sync(data, wiki)
    assert _only_error(report) == (
        "Confluence refused the credentials (HTTP 401): check username "
        f"({USERNAME}) and the API token in $CONFLUENCE_TOKEN"
    )
    assert not report.results
    assert f"wiki/{deploys}" in read_manifest(data).by_source()
    assert "Tuesdays" in _ask(cli, data, "When are billing service deploys?")["answer"]

    unset = run_ingest([], data, 10_000_000, sources=[_source(wiki, environ={})])
    assert "$CONFLUENCE_TOKEN" in _only_error(unset) and not unset.results
    assert f"wiki/{deploys}" in read_manifest(data).by_source()


def test_an_unknown_space_or_an_unreachable_site_fails_with_what_to_fix(wiki, tmp_path):
    report = _sync(tmp_path / "data", wiki, spaces=["NOPE"])
    error = _only_error(report)
    assert "no space NOPE" in error and "HTTP 404" in error

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = _source(wiki, url=f"http://127.0.0.1:{port}/wiki")
    result = check(closed)
    assert not result.ok
    assert result.detail.startswith(f"cannot reach Confluence at http://127.0.0.1:{port}/wiki")
    assert "connection refused" in result.detail
    with pytest.raises(SourceError, match="no space NOPE"):
        list(_source(wiki, spaces=["ENG", "NOPE"]).items())


def test_a_huge_page_is_refused_alone(wiki, tmp_path):
    huge = "<p>" + "capacity planning notes " * 840_000 + "</p>"  # about 20 MB
    wiki.add_page("ENG", "Capacity dump", huge)
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    report = _sync(tmp_path / "data", wiki)
    failed = {r.path: r.reason for r in report.failed}
    assert list(failed) == ["ENG: Capacity dump"]
    assert failed["ENG: Capacity dump"].startswith("file is 20.2 MB, over the 10.0 MB limit")
    assert _outcomes(report)["ENG: Billing deploys"] is Outcome.ADDED
    assert set(read_manifest(tmp_path / "data").by_source()) == {f"wiki/{deploys}"}


def test_a_page_deleted_while_syncing_is_reported_and_the_rest_ingested(wiki, tmp_path):
    doomed = wiki.add_page("ENG", "Old runbook", ONCALL)
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    wiki.vanish_after_listing(doomed)
    report = _sync(tmp_path / "data", wiki)
    assert not report.failed_sources
    [failed] = report.failed
    assert failed.path == "ENG: Old runbook" and "deleted in Confluence" in failed.reason
    assert _outcomes(report)["ENG: Billing deploys"] is Outcome.ADDED
    assert set(read_manifest(tmp_path / "data").by_source()) == {f"wiki/{deploys}"}


def test_a_table_and_a_code_block_reach_the_index_as_markdown(cli, wiki, tmp_path):
    data = tmp_path / "data"
    page = wiki.add_page("ENG", "Support tiers", TABLE_AND_CODE)
    _sync(data, wiki)
    hits = cli.json("search", "gold tier responder first answer", "--data-dir", str(data))
    text = "\n".join(h["text"] for h in hits if h["doc_id"] == f"wiki/{page}")
    assert "| Gold | Priyanka Das | within one hour |" in text
    assert "|  | Mateus Rocha | within two hours |" in text
    assert "| Bronze | next working day |  |" in text
    hits = cli.json("search", "kubectl rollout restart support-router", "--data-dir", str(data))
    text = "\n".join(h["text"] for h in hits if h["doc_id"] == f"wiki/{page}")
    assert "kubectl rollout restart deployment/support-router --namespace=tiers" in text
    assert 'echo "restarted <support-router> & done"' in text


def test_data_center_is_read_with_a_bearer_token_at_its_own_paths(cli, tmp_path):
    site = ConfluenceDouble(cloud=False).start()
    try:
        site.add_space("ENG")
        page = site.add_page("ENG", "Billing deploys", DEPLOYS)
        report = _sync(tmp_path / "data", site)
        assert report.count(Outcome.ADDED) == 1
        assert {r.headers.get("Authorization") for r in site.requests} == {f"Bearer {TOKEN}"}
        answer = _ask(cli, tmp_path / "data", "When are billing service deploys to production?")
        assert f"{site.url}/pages/viewpage.action?pageId={page}" in _cited(answer)
    finally:
        site.stop()


def test_attachments_are_ingested_with_their_page_restriction(cli, wiki, tmp_path):
    data = tmp_path / "data"
    public = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    private = wiki.add_page("ENG", "Salary bands", SALARIES, read_groups=["people"])
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    wiki.add_attachment(public, "rollback.docx", _docx(ROLLBACK), docx_type)
    wiki.add_attachment(private, "bonus.docx", _docx(BONUS), docx_type)
    wiki.add_attachment(public, "diagram.png", b"\x89PNG not read", "image/png")
    report = _sync(data, wiki, attachments=True)
    assert report.count(Outcome.ADDED) == 4 and not report.failed

    answer = _ask(cli, data, "How is a failed billing deploy rolled back?")
    assert "feature flag" in answer["answer"]
    download = f"{wiki.url}/download/attachments/{public}/rollback.docx?version=1&api=v2"
    assert download in _cited(answer)
    assert "Lucia" not in _ask(cli, data, "Who approves engineering bonuses?")["answer"]
    assert "Lucia" in _ask(cli, data, "Who approves engineering bonuses?", "--staff")["answer"]


ROLLBACK = "A failed billing deploy is rolled back by switching the billing-v2 feature flag off."
BONUS = "Engineering bonuses are approved by Lucia Ferreira after the March calibration."


def _docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- storage format to Markdown -----------------------------------------------------------


def test_tables_keep_their_shape_with_merged_cells_written_once():
    markdown = storage_to_markdown(TABLE_AND_CODE)
    assert (
        "| Tier | Responder | First answer |\n"
        "|---|---|---|\n"
        "| Gold | Priyanka Das | within one hour |\n"
        "|  | Mateus Rocha | within two hours |\n"
        "| Bronze | next working day |  |"
    ) in markdown
    assert markdown.startswith("## Support tiers\n\n| Tier")


def test_code_macros_become_fenced_blocks_that_their_backticks_cannot_close():
    markdown = storage_to_markdown(TABLE_AND_CODE)
    assert (
        "```bash\nkubectl rollout restart deployment/support-router --namespace=tiers\n"
        'echo "restarted <support-router> & done"\n```'
    ) in markdown
    fenced = storage_to_markdown(
        '<ac:structured-macro ac:name="code"><ac:plain-text-body><![CDATA[a = """\n```\n"""]]>'
        "</ac:plain-text-body></ac:structured-macro>"
    )
    assert fenced == '````\na = """\n```\n"""\n````'


def test_lists_panels_links_and_other_macros_are_read_as_text():
    storage = (
        "<h1>Intake</h1>"
        '<ac:structured-macro ac:name="toc"><ac:parameter ac:name="maxLevel">2</ac:parameter>'
        "</ac:structured-macro>"
        "<ul><li>Write the <a href='https://x.example'>request form</a><ul><li>attach the "
        "model card</li></ul></li><li>Wait for <ac:link><ri:page ri:content-title='Triage' />"
        "</ac:link></li></ul>"
        "<ol><li>first</li><li>second</li></ol>"
        '<ac:structured-macro ac:name="note"><ac:rich-text-body><p>Requests close after '
        "30 days.</p></ac:rich-text-body></ac:structured-macro>"
        '<ac:structured-macro ac:name="jira"><ac:parameter ac:name="key">COE-12'
        "</ac:parameter></ac:structured-macro>"
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Details'
        "</ac:parameter><ac:rich-text-body><p>Hidden detail text.</p></ac:rich-text-body>"
        "</ac:structured-macro>"
        "<p><ac:image><ri:attachment ri:filename='flow.png' /></ac:image>snake_case *stays*</p>"
    )
    assert storage_to_markdown(storage) == (
        "# Intake\n\n"
        "- Write the request form\n  - attach the model card\n- Wait for Triage\n\n"
        "1. first\n2. second\n\n"
        "Note: Requests close after 30 days.\n\n"
        "Details\n\nHidden detail text.\n\n"
        "snake_case *stays*"
    )


def test_a_page_cannot_give_itself_a_header():
    markdown = storage_to_markdown(
        "<hr/><p>url: https://phish.example.com</p><p>audience: everyone</p><hr/><p>Body.</p>"
    )
    header, _ = split_front_matter(markdown)
    assert header.meta.url is None
    assert "https://phish.example.com" in markdown


def test_storage_format_that_does_not_parse_is_a_document_error():
    with pytest.raises(DocumentError, match="not readable XHTML"):
        storage_to_markdown("<p>fine</p><![if-not-a-section foo]><p>more</p>")
    deep = "<div>" * 5000 + "deep" + "</div>" * 5000
    with pytest.raises(DocumentError, match="nested too deeply"):
        storage_to_markdown(deep)
    assert BeautifulSoup(deep, "html.parser").get_text() == "deep"  # it did parse


def test_a_section_page_with_no_text_is_kept_empty_and_not_fetched_again(cli, wiki, tmp_path):
    data = tmp_path / "data"
    section = wiki.add_page("ENG", "Engineering home", '<ac:structured-macro ac:name="children" />')
    wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    first = _sync(data, wiki)
    assert not first.failed and first.count(Outcome.ADDED) == 2
    assert any("no text to index" in n for r in first.results for n in r.notes)
    assert read_manifest(data).by_source()[f"wiki/{section}"].chunk_ids == []

    wiki.requests.clear()
    second = _sync(data, wiki)
    assert not second.failed and second.count(Outcome.UNCHANGED) == 2
    assert wiki.body_requests() == []
    assert (
        "Tuesdays" in _ask(cli, data, "When are billing service deploys to production?")["answer"]
    )


# -- failures that are not the whole site's ------------------------------------------------


def test_a_restriction_whose_user_or_group_list_is_missing_is_staff_only(wiki, tmp_path):
    data = tmp_path / "data"
    open_page = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    no_group = wiki.add_page("ENG", "On-call", ONCALL)
    no_results = wiki.add_page("ENG", "Salary bands", SALARIES)
    wiki.hide_restriction(no_group, "group")  # the listing lacks restrictions.read's group
    wiki.hide_restriction(no_results, "user", "results")  # a user entry, but no list in it
    report = _sync(data, wiki)
    assert report.count(Outcome.ADDED) == 3 and not report.failed_sources
    audience = {key: f.audience for key, f in read_manifest(data).by_source().items()}
    assert audience == {
        f"wiki/{open_page}": "everyone",
        f"wiki/{no_group}": "coe-staff",
        f"wiki/{no_results}": "coe-staff",
    }


@pytest.mark.parametrize(
    ("read", "restricted"),
    [
        ({"restrictions": {"user": {"results": []}, "group": {"results": []}}}, False),
        ({"restrictions": {"user": {"results": []}}}, True),
        ({"restrictions": {"group": {"results": []}}}, True),
        ({"restrictions": {"user": {"results": []}, "group": {"size": 0}}}, True),
        ({"restrictions": {"user": {"results": []}, "group": []}}, True),
        ({"restrictions": {"user": {"results": "none"}, "group": {"results": []}}}, True),
        ({"operation": "read", "_expandable": {"restrictions": "/rest/api/…"}}, True),
        ({"restrictions": {"user": {"results": []}, "group": {"results": [{"name": "all"}]}}}, False),
        ({"restrictions": {"user": {"results": [{"accountId": "a"}]}, "group": {"results": []}}}, True),
    ],
)  # fmt: skip
def test_only_two_expanded_empty_restriction_lists_make_a_page_public(read, restricted):
    page = {"id": "1", "restrictions": {"read": read}}
    assert _keeps_someone_out(page, "all") is restricted


def test_a_page_whose_body_cannot_be_fetched_fails_alone(wiki, tmp_path):
    data = tmp_path / "data"
    closed = wiki.add_page("ENG", "On-call", ONCALL)
    down = wiki.add_page("ENG", "Salary bands", SALARIES)
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    assert _sync(data, wiki).count(Outcome.ADDED) == 3

    for page in (closed, down, deploys):
        wiki.edit(page, "<p>Rewritten.</p>")
    wiki.fail_body(closed, "close")  # the connection drops, every time
    wiki.fail_body(down, 503)  # and stays 503 after every retry
    report = _sync(data, wiki, max_retry_wait_s=0.01)
    assert not report.failed_sources
    assert _outcomes(report) == {
        "ENG: On-call": Outcome.FAILED,
        "ENG: Salary bands": Outcome.FAILED,
        "ENG: Billing deploys": Outcome.UPDATED,
    }
    failed = {r.path: r.reason for r in report.failed}
    assert "gave no answer while reading page ENG: On-call" in failed["ENG: On-call"]
    assert "connection was closed" in failed["ENG: On-call"]
    assert (
        "HTTP 503" in failed["ENG: Salary bands"]
        and "gave up after 3 tries" in failed["ENG: Salary bands"]
    )
    assert all("previously ingested version stays" in reason for reason in failed.values())
    assert len([r for r in wiki.body_requests() if r.path.endswith(down)]) == 1 + 3
    files = read_manifest(data).by_source()
    assert (files[f"wiki/{closed}"].version, files[f"wiki/{down}"].version) == ("1", "1")
    assert files[f"wiki/{deploys}"].version == "2"


def test_transient_5xx_answers_are_retried_with_a_short_backoff(wiki, tmp_path, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr("ingest.sources.confluence.time.sleep", waits.append)
    wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    wiki.unavailable(2, status=503)
    report = _sync(tmp_path / "data", wiki)
    assert report.count(Outcome.ADDED) == 1 and not report.failed_sources
    first, second, third = wiki.requests[:3]
    assert (first.status, second.status, third.status) == (503, 503, 200)
    assert first.path == second.path == third.path
    assert waits == [0.5, 1.0]  # doubling from half a second

    wiki.unavailable(10, status=502)  # longer than max_retries: the listing fails
    error = _only_error(_sync(tmp_path / "data", wiki, max_retry_wait_s=0.01))
    assert "HTTP 502" in error and "gave up after 3 tries" in error


def test_a_login_page_instead_of_json_fails_the_listing_saying_so(wiki, tmp_path):
    data = tmp_path / "data"
    deploys = wiki.add_page("ENG", "Billing deploys", DEPLOYS)
    _sync(data, wiki)
    wiki.login_page = True  # a proxy in front of the site answers 200 with its HTML
    with pytest.raises(SourceError, match="not JSON") as raised:
        list(_source(wiki).items())
    assert wiki.url in str(raised.value) and "text/html" in str(raised.value)
    assert TOKEN not in str(raised.value)
    error = _only_error(_sync(data, wiki))
    assert "not JSON" in error
    assert f"wiki/{deploys}" in read_manifest(data).by_source()
