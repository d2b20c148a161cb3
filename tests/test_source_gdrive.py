"""Google Drive sources against a local Drive double (tests.gdrive_double): files are synced
with `run_ingest`, then asked about with `coe ask`, as a user would."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from ingest.errors import DocumentError
from ingest.index_store import read_manifest
from ingest.pipeline import IngestReport, Outcome, run_ingest
from ingest.sources.base import SourceError, check
from ingest.sources.gdrive import GDriveConfig, GDriveSource
from tests.gdrive_double import DOCX, PDF, SERVICE_ACCOUNT, DriveDouble

DOMAIN = "acme.com"
HARBOUR = (
    "<h1>Release signing</h1><p>Every model shipped by the harbour team is signed with the "
    "release key held by Odile Marchetti, and a signed model card is attached to the release "
    "ticket.</p>"
)
GLACIER = (
    "<h1>Discounts</h1><p>The glacier vendor agreement gives the CoE a 23 percent discount on "
    "inference until the renewal on 14 November, negotiated by Bertrand Osei.</p>"
)
TUNDRA = (
    "<h1>Reviews</h1><p>Prompts in the tundra library are versioned with semantic version "
    "numbers and reviewed by Kalani Brooks before they reach production traffic.</p>"
)


@pytest.fixture()
def drive():
    server = DriveDouble(DOMAIN).start()
    yield server
    server.stop()


@pytest.fixture()
def key(drive, tmp_path) -> Path:
    return drive.key_file(tmp_path / "service-account.json")


def _source(drive: DriveDouble, key: Path, **config) -> GDriveSource:
    settings = {
        "type": "gdrive",
        "name": "policies",
        "domain": DOMAIN,
        "api_url": drive.url,
        "max_retry_wait_s": 0.01,
        **config,
    }
    environ = {"GOOGLE_APPLICATION_CREDENTIALS": str(key)}
    return GDriveSource(GDriveConfig.model_validate(settings), environ)


def _sync(data: Path, source: GDriveSource, max_bytes: int = 10_000_000) -> IngestReport:
    return run_ingest([], data, max_bytes, sources=[source])


def _ask(cli, data: Path, question: str, *extra: str) -> dict:
    return cli.json("ask", question, "--data-dir", str(data), *extra)


def _outcomes(report: IngestReport) -> dict[str, Outcome]:
    return {r.path: r.outcome for r in report.results}


def _link(file_id: str) -> str:
    return f"https://docs.google.com/document/d/{file_id}/edit?usp=drivesdk"


def _pdf(text: str) -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def _docx(heading: str, text: str) -> bytes:
    document = docx.Document()
    document.add_heading(heading, level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_synced_google_doc_is_answered_with_a_link_to_it(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    policies = drive.add_folder("Policies", root)
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, policies)
    drive.add_file("team-photo.png", "image/png", b"\x89PNG...", root)  # skipped silently
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, folder_id=root))
    assert report.failed_sources == [] and report.failed == []
    assert _outcomes(report) == {"policies:Policies/Harbour model release policy": Outcome.ADDED}

    answer = _ask(cli, data, "Who holds the release key for harbour models?")
    assert answer["abstained"] is False
    assert "Odile Marchetti" in answer["answer"]
    cited = [s for s in answer["sources"] if s["cited"]]
    assert [s["source"] for s in cited] == [_link(harbour)]
    assert cited[0]["title"] == "Harbour model release policy"
    assert cited[0]["owner"] == "Dana Whitfield"
    assert read_manifest(data).by_source()[f"policies/{harbour}"].audience == "everyone"


def test_a_file_not_shared_with_the_company_is_staff_only_until_it_is(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    glacier = drive.add_doc("Glacier vendor terms", GLACIER, root, shared="users")
    drive.add_doc("Tundra prompt library", TUNDRA, root, shared="anyone")
    data = tmp_path / "data"
    source = _source(drive, key, folder_id=root)
    _sync(data, source)

    question = "What discount does the glacier vendor agreement give us?"
    public = _ask(cli, data, question)
    assert "23 percent" not in public["answer"]
    assert _link(glacier) not in {s["source"] for s in public["sources"]}
    staff = _ask(cli, data, question, "--staff")
    assert "23 percent" in staff["answer"]
    audiences = {k: e.audience for k, e in read_manifest(data).by_source().items()}
    assert audiences[f"policies/{glacier}"] == "coe-staff"
    tundra = _ask(cli, data, "Who reviews prompts in the tundra library?")
    assert "Kalani Brooks" in tundra["answer"]  # shared with anyone: public

    # Sharing it with the company does not touch modifiedTime; the next sync sees it anyway.
    drive.reshare(glacier, "domain")
    assert _outcomes(_sync(data, source))["policies:Glacier vendor terms"] is Outcome.UPDATED
    assert "23 percent" in _ask(cli, data, question)["answer"]


def test_an_unchanged_drive_is_not_downloaded_again_and_an_edit_is(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, root)
    drive.add_file("Tundra.pdf", PDF, _pdf("Kalani Brooks reviews tundra prompts."), root)
    data = tmp_path / "data"
    source = _source(drive, key, folder_id=root)
    first = _sync(data, source)
    assert first.count(Outcome.ADDED) == 2

    before = len(drive.log)
    again = _sync(data, source)
    assert again.count(Outcome.UNCHANGED) == 2 and not again.published
    assert [r for r in drive.log[before:] if r.kind in ("export", "media")] == []

    drive.edit(harbour, HARBOUR.replace("Odile Marchetti", "Ruth Abernathy"))
    before = len(drive.log)
    edited = _sync(data, source)
    assert _outcomes(edited) == {
        "policies:Harbour model release policy": Outcome.UPDATED,
        "policies:Tundra.pdf": Outcome.UNCHANGED,
    }
    fetched = [(r.kind, r.path) for r in drive.log[before:] if r.kind in ("export", "media")]
    assert fetched == [("export", f"/drive/v3/files/{harbour}/export")]
    answer = _ask(cli, data, "Who holds the release key for harbour models?")
    assert "Ruth Abernathy" in answer["answer"] and "Odile Marchetti" not in answer["answer"]


def test_a_deleted_file_leaves_the_index(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, root)
    drive.add_doc("Tundra prompt library", TUNDRA, root)
    data = tmp_path / "data"
    source = _source(drive, key, folder_id=root)
    _sync(data, source)
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]

    drive.delete(harbour)
    report = _sync(data, source)
    assert _outcomes(report)[_link(harbour)] is Outcome.REMOVED
    assert f"policies/{harbour}" not in read_manifest(data).by_source()
    answer = _ask(cli, data, "Who holds the harbour release key?")
    assert "Odile Marchetti" not in answer["answer"]
    assert _link(harbour) not in {s["source"] for s in answer["sources"]}


def test_a_long_folder_tree_is_read_page_by_page(cli, drive, key, tmp_path):
    drive.page_size = 2
    root = drive.add_folder("CoE")
    teams = drive.add_folder("Teams", root)
    names = ["Harbour", "Glacier", "Tundra", "Savanna"]
    for name in names:
        drive.add_doc(f"{name} notes", f"<p>The {name.lower()} team meets on Tuesdays.</p>", root)
    drive.add_doc("Delta notes", "<p>The delta team's budget owner is Mireille Okonkwo.</p>", teams)
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, folder_id=root))
    assert report.count(Outcome.ADDED) == 5
    listings = [r for r in drive.log if r.kind == "list"]
    assert len(listings) == 4  # the root in three pages (five children), Teams in one
    assert [r.query.get("pageToken") for r in listings[:3]] == [None, "2", "4"]
    answer = _ask(cli, data, "Who owns the delta team's budget?")
    assert "Mireille Okonkwo" in answer["answer"]


def test_a_rate_limit_is_waited_out_for_as_long_as_retry_after_says(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    drive.rate_limit(times=1, retry_after="2")  # longer than the first backoff (≤ 1 s)
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, folder_id=root, max_retry_wait_s=60))
    assert report.failed_sources == [] and report.count(Outcome.ADDED) == 1
    calls = [r for r in drive.log if r.kind != "token"]
    assert calls[0].status == 429 and calls[1].status == 200
    assert calls[1].at - calls[0].at >= 1.95
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]


def test_a_rate_limit_that_never_lifts_fails_the_source_and_keeps_its_content(
    cli, drive, key, tmp_path
):
    root = drive.add_folder("CoE")
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, root)
    data = tmp_path / "data"
    _sync(data, _source(drive, key, folder_id=root))

    drive.edit(harbour, HARBOUR.replace("Odile Marchetti", "Ruth Abernathy"))
    drive.rate_limit(times=None, retry_after="30")  # capped at max_retry_wait_s
    before = len(drive.log)
    report = _sync(data, _source(drive, key, folder_id=root, max_retries=2))
    [failed] = report.failed_sources
    assert failed.name == "policies"
    assert "rate limited" in failed.error and "gave up after 3 tries" in failed.error
    assert len([r for r in drive.log[before:] if r.status == 429]) == 3
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]


def test_refused_credentials_fail_the_source_clearly_and_keep_its_content(
    cli, drive, key, tmp_path
):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    data = tmp_path / "data"
    source = _source(drive, key, folder_id=root)
    _sync(data, source)

    drive.key_file(key, known=False)  # the key was deleted in the Cloud console
    before = len(drive.log)
    report = _sync(data, source)
    [failed] = report.failed_sources
    assert failed.error.startswith(f"Google refused the service account {SERVICE_ACCOUNT}")
    assert "Invalid JWT Signature" in failed.error
    assert {r.kind for r in drive.log[before:]} == {"token"}  # nothing listed or fetched
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]


def test_a_file_over_the_size_limit_is_refused_and_the_rest_ingested(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    scans = drive.add_folder("Scans", root)
    big = drive.add_file("Board minutes.pdf", PDF, b"%PDF-1.4\n" + b"0" * 20_000_000, scans)
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, folder_id=root), max_bytes=10_000_000)
    [refused] = report.failed
    assert refused.path == "policies:Scans/Board minutes.pdf"
    assert "over the" in refused.reason and "COE_MAX_FILE_MB" in refused.reason
    assert report.count(Outcome.ADDED) == 1
    assert [r for r in drive.log if big in r.path and r.kind == "media"] == []  # never fetched
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]


def test_a_doc_over_the_size_limit_is_refused_once_exported(drive, key):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR * 20, root)
    source = _source(drive, key, folder_id=root)
    [item] = source.items()
    with pytest.raises(DocumentError, match="over the"):
        source.load(item, 2_000)


def test_a_file_that_grew_after_listing_is_cut_at_the_limit(drive, key):
    root = drive.add_folder("CoE")
    pdf = drive.add_file("Tundra.pdf", PDF, _pdf("Kalani Brooks reviews tundra prompts."), root)
    source = _source(drive, key, folder_id=root)
    [item] = source.items()
    drive.edit(pdf, content=b"%PDF-1.4\n" + b"0" * 3_000_000)  # listed small, now 3 MB
    with pytest.raises(DocumentError, match=r"file is 3\.0 MB, over the 1\.0 MB limit"):
        source.load(item, 1_000_000)
    [download] = drive.requests("media")
    assert download.sent == 1_000_001  # no more than one byte over the limit was sent


def test_an_expired_token_is_renewed_without_failing(drive, key):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    source = _source(drive, key, folder_id=root)
    [item] = source.items()
    drive.revoke_tokens()
    assert b"Odile Marchetti" in source.load(item, 1_000_000)
    assert [r.status for r in drive.log[-3:]] == [401, 200, 200]  # export, token, export


def test_a_doc_with_a_table_and_a_code_block_keeps_both(cli, drive, key, tmp_path):
    cell = (
        '<td class="c4" colspan="1" rowspan="1"><p class="c0"><span class="c1">{}</span></p></td>'
    )
    # A table-heavy Doc, as vendor sheets are: most of its text is in the table's cells.
    tiers = [("Bronze", 5, "January"), ("Silver", 8, "March"), ("Gold", 11, "April")]
    tiers += [("Platinum", 18, "September"), ("Diamond", 21, "October"), ("Onyx", 25, "June")]
    tiers += [("Ruby", 27, "July"), ("Jade", 30, "August")]
    rows = [("Tier", "Discount", "Renewal")] + [
        (tier, f"{off} percent off the list price of inference", f"{month}, by procurement")
        for tier, off, month in tiers
    ]
    table = "".join("<tr>" + "".join(cell.format(c) for c in row) + "</tr>" for row in rows)
    mono = '<p class="c0"><span style="font-family:\'Courier New\'">{}</span></p>'
    body = (
        "<h1>Vendor tiers</h1><p>Tiers apply per vendor.</p>"
        f'<a id="t.0"></a><table class="c9">{table}</table>'
        "<h2>Rotating the gateway key</h2>"
        + mono.format("coe-gateway keys rotate --vendor glacier")
        + mono.format("kubectl rollout restart deploy/model-gateway")
    )
    root = drive.add_folder("CoE")
    drive.add_doc("Vendor tiers", body, root)
    data = tmp_path / "data"
    _sync(data, _source(drive, key, folder_id=root))

    hits = cli.json("search", "platinum tier discount", "--data-dir", str(data), "-k", "3")
    texts = "\n".join(h["text"] for h in hits)
    assert "| Platinum | 18 percent off the list price of inference | September, by" in texts
    assert "| Bronze | 5 percent off the list price of inference | January, by" in texts
    assert "Tiers apply per vendor." in texts  # the text around a table is not dropped
    hits = cli.json("search", "restart the model gateway", "--data-dir", str(data), "-k", "3")
    [code] = [h for h in hits if "kubectl rollout restart" in h["text"]]
    assert code["heading"].endswith("Rotating the gateway key")
    assert "coe-gateway keys rotate --vendor glacier" in code["text"]


def test_a_file_deleted_between_listing_and_load_is_reported_alone(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    gone = drive.add_doc("Glacier vendor terms", GLACIER, root)
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    drive.delete_after_listing(gone)
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, folder_id=root))
    assert report.failed_sources == []
    [failed] = report.failed
    assert failed.path == "policies:Glacier vendor terms"
    assert "deleted from Google Drive" in failed.reason
    assert _outcomes(report)["policies:Harbour model release policy"] is Outcome.ADDED
    assert "Odile Marchetti" in _ask(cli, data, "Who holds the harbour release key?")["answer"]


def test_pdf_and_word_files_are_downloaded_and_answered(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    pdf = drive.add_file(
        "Tundra prompt reviews.pdf",
        PDF,
        _pdf("Prompts in the tundra library are reviewed by Kalani Brooks before release."),
        root,
    )
    word = drive.add_file(
        "Glacier rota.docx",
        DOCX,
        _docx("Glacier rota", "The glacier evaluation rota is run by Bertrand Osei."),
        root,
    )
    data = tmp_path / "data"
    report = _sync(data, _source(drive, key, folder_id=root))
    assert report.count(Outcome.ADDED) == 2, report.results

    tundra = _ask(cli, data, "Who reviews prompts in the tundra library?")
    assert "Kalani Brooks" in tundra["answer"]
    pdf_link = f"https://drive.google.com/file/d/{pdf}/view?usp=drivesdk"
    assert pdf_link in {s["source"] for s in tundra["sources"] if s["cited"]}
    assert tundra["sources"][0]["title"] == "Tundra prompt reviews"
    rota = _ask(cli, data, "Who runs the glacier evaluation rota?")
    assert "Bertrand Osei" in rota["answer"]
    word_link = f"https://drive.google.com/file/d/{word}/view?usp=drivesdk"
    assert word_link in {s["source"] for s in rota["sources"] if s["cited"]}


def test_a_shared_drive_is_read_with_each_files_own_permissions(cli, drive, key, tmp_path):
    team = drive.add_shared_drive("CoE team")
    vendors = drive.add_folder("Vendors", team)
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, team)
    glacier = drive.add_doc("Glacier vendor terms", GLACIER, vendors, shared="users")
    data = tmp_path / "data"

    report = _sync(data, _source(drive, key, drive_id=team))
    assert report.count(Outcome.ADDED) == 2
    audiences = {k: e.audience for k, e in read_manifest(data).by_source().items()}
    assert audiences == {f"policies/{harbour}": "everyone", f"policies/{glacier}": "coe-staff"}
    question = "What discount does the glacier vendor agreement give us?"
    assert "23 percent" not in _ask(cli, data, question)["answer"]
    assert "23 percent" in _ask(cli, data, question, "--staff")["answer"]


def test_a_file_shared_with_another_domain_or_without_a_domain_configured_is_staff_only(drive, key):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR, root)  # shared with acme.com
    other = _source(drive, key, folder_id=root, domain="partner.example")
    unset = _source(drive, key, folder_id=root, domain=None)
    ours = _source(drive, key, folder_id=root, domain="@ACME.com")
    assert [i.meta.restricted for i in other.items()] == [True]
    assert [i.meta.restricted for i in unset.items()] == [True]
    assert [i.meta.restricted for i in ours.items()] == [False]


def test_setup_mistakes_are_named_in_the_source_error(drive, key, tmp_path):
    root = drive.add_folder("CoE")
    a_doc = drive.add_doc("Harbour model release policy", HARBOUR, root)

    def failure(source: GDriveSource) -> str:
        result = check(source)
        assert result.ok is False
        return result.detail

    no_variable = GDriveSource(_source(drive, key, folder_id=root).config, {})
    assert "GOOGLE_APPLICATION_CREDENTIALS is not set" in failure(no_variable)
    missing = {"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "nowhere.json")}
    detail = failure(GDriveSource(no_variable.config, missing))
    assert "cannot read the service account key file" in detail and "nowhere.json" in detail

    unknown = failure(_source(drive, key, folder_id="1NoSuchFolder"))
    assert "folder 1NoSuchFolder was not found" in unknown
    assert "share the folder with the service account" in unknown and SERVICE_ACCOUNT in unknown
    assert "is a file, not a folder" in failure(_source(drive, key, folder_id=a_doc))
    unreachable = failure(_source(drive, key, folder_id=root, api_url="http://127.0.0.1:9"))
    assert "cannot reach Google Drive at http://127.0.0.1:9/drive/v3/" in unreachable

    no_drive = failure(_source(drive, key, drive_id="0ANoSuchDrive"))
    assert "shared drive 0ANoSuchDrive was not found" in no_drive
    assert "add the service account to the shared drive" in no_drive
    elsewhere = tmp_path / "elsewhere.json"
    said = json.loads(key.read_text()) | {"token_uri": "http://127.0.0.1:9/token"}
    elsewhere.write_text(json.dumps(said))
    no_token = failure(_source(drive, elsewhere, folder_id=root))
    assert "cannot reach Google's token endpoint http://127.0.0.1:9/token" in no_token

    drive.api_disabled = True
    disabled = failure(_source(drive, key, folder_id=root))
    assert f"refused to open folder {root} (HTTP 403" in disabled
    assert "Google Drive API has not been used in project" in disabled
    drive.api_disabled = False

    drive.rate_limit(times=None, status=403, reason="userRateLimitExceeded")
    limited = failure(_source(drive, key, folder_id=root, max_retries=1))
    assert "rate limited" in limited and "gave up after 2 tries" in limited


def test_a_rate_limit_while_loading_fails_the_source_not_just_the_file(drive, key):
    root = drive.add_folder("CoE")
    drive.add_doc("Harbour model release policy", HARBOUR, root)
    source = _source(drive, key, folder_id=root, max_retries=1)
    [item] = source.items()
    drive.rate_limit(times=None)
    with pytest.raises(SourceError, match="gave up after 2 tries"):
        source.load(item, 1_000_000)


def test_a_file_whose_download_fails_fails_alone_and_keeps_its_last_version(drive, key, tmp_path):
    root = drive.add_folder("CoE")
    closed = drive.add_doc("Harbour model release policy", HARBOUR, root)
    down = drive.add_file("Glacier terms.pdf", PDF, _pdf("Bertrand Osei negotiated it."), root)
    data = tmp_path / "data"
    assert _sync(data, _source(drive, key, folder_id=root)).count(Outcome.ADDED) == 2
    before = {k: e.version for k, e in read_manifest(data).by_source().items()}

    drive.edit(closed, HARBOUR.replace("Odile Marchetti", "Ruth Abernathy"))
    drive.edit(down, content=_pdf("Someone else negotiated it."))
    drive.add_doc("Tundra prompt library", TUNDRA, root)
    drive.fail(closed, "close")  # the export's connection drops, every time
    drive.fail(down, 503)  # the download stays 503 after every retry
    report = _sync(data, _source(drive, key, folder_id=root, max_retries=2))
    assert report.failed_sources == []
    assert _outcomes(report) == {
        "policies:Harbour model release policy": Outcome.FAILED,
        "policies:Glacier terms.pdf": Outcome.FAILED,
        "policies:Tundra prompt library": Outcome.ADDED,
    }
    failed = {r.path: r.reason for r in report.failed}
    assert (
        f"cannot reach Google Drive at {drive.url}/drive/v3/"
        in failed["policies:Harbour model release policy"]
    )
    glacier = failed["policies:Glacier terms.pdf"]
    assert "HTTP 503" in glacier and "gave up after 3 tries" in glacier
    assert all("previously ingested version stays" in reason for reason in failed.values())
    assert len([r for r in drive.requests("media") if down in r.path]) == 1 + 3
    after = {k: e.version for k, e in read_manifest(data).by_source().items()}
    assert {k: after[k] for k in before} == before


def test_a_login_page_instead_of_json_fails_the_listing_saying_so(drive, key, tmp_path):
    root = drive.add_folder("CoE")
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, root)
    data = tmp_path / "data"
    _sync(data, _source(drive, key, folder_id=root))
    drive.login_page = True  # a proxy answers the API's calls with its HTML sign-in page
    with pytest.raises(SourceError, match="is not JSON") as raised:
        list(_source(drive, key, folder_id=root).items())
    assert f"folder {root}" in str(raised.value) and drive.url in str(raised.value)
    [failed] = _sync(data, _source(drive, key, folder_id=root)).failed_sources
    assert "is not JSON" in failed.error
    assert f"policies/{harbour}" in read_manifest(data).by_source()


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        ({}, "give folder_id"),
        ({"folder_id": "https://drive.google.com/drive/folders/1AbC"}, "is not a Drive id"),
        ({"drive_id": "0AB", "credentials_env": "/etc/coe/key.json"}, "NAME of an environment"),
        ({"drive_id": "0AB", "api_url": "www.googleapis.com"}, "must start with https://"),
        ({"drive_id": "0AB", "token": "secret"}, "Extra inputs are not permitted"),
    ],
)
def test_config_mistakes_are_explained(settings, said):
    with pytest.raises(ValueError, match=said):
        GDriveConfig.model_validate({"type": "gdrive", "name": "drive", **settings})


def test_coe_sources_sync_reads_a_gdrive_entry_of_sources_yaml(cli, drive, key, tmp_path):
    root = drive.add_folder("CoE")
    harbour = drive.add_doc("Harbour model release policy", HARBOUR, root)
    entry = {
        "name": "policies",
        "type": "gdrive",
        "folder_id": root,
        "domain": DOMAIN,
        "api_url": drive.url,
        "credentials_env": "DRIVE_KEY_FILE",
    }
    sources = tmp_path / "sources.yaml"
    sources.write_text(json.dumps({"sources": [entry]}), encoding="utf-8")  # JSON is YAML
    data = tmp_path / "data"
    env = {"COE_SOURCES_FILE": str(sources), "DRIVE_KEY_FILE": str(key)}

    synced = cli("sources", "sync", "--data-dir", str(data), env=env)
    assert synced.exit_code == 0, synced.output
    answer = cli.json("ask", "Who holds the harbour release key?", "--data-dir", str(data), env=env)
    assert "Odile Marchetti" in answer["answer"]
    assert _link(harbour) in {s["source"] for s in answer["sources"] if s["cited"]}
