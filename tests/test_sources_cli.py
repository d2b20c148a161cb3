"""Confluence, Notion and Google Drive together in one sources.yaml, as an operator runs them:
`coe sources check`, `coe sources sync`, then `coe ask`. Each service is a local double."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.confluence_double import TOKEN, USERNAME, ConfluenceDouble
from tests.gdrive_double import DriveDouble
from tests.notion_double import NotionDouble, paragraph

DEPLOYS = (
    "<p>Production deploys of the billing service happen on Tuesdays, once the change board "
    "led by Ingrid Halvorsen has approved them.</p>"
)
SALARIES = (
    "<p>Salary bands for machine learning engineers are reviewed every March by the "
    "compensation committee chaired by Theo Marchetti.</p>"
)
ROTA = "The evaluation rota hands over every second Thursday; Bertrand Osei runs the handover."
HARBOUR = (
    "<p>Every model shipped by the harbour team is signed with the release key held by Odile "
    "Lindqvist.</p>"
)


@pytest.fixture()
def services(tmp_path):
    wiki = ConfluenceDouble().start()
    notion = NotionDouble()
    notion.start()
    drive = DriveDouble("acme.com").start()
    yield wiki, notion, drive
    for server in (wiki, notion, drive):
        server.stop()


def _setup(tmp_path: Path, wiki: ConfluenceDouble, notion: NotionDouble, drive: DriveDouble):
    wiki.add_space("ENG", "Engineering")
    pages = {
        "deploys": wiki.add_page("ENG", "Billing deploys", DEPLOYS),
        "salaries": wiki.add_page("ENG", "Salary bands", SALARIES, read_groups=["hr"]),
    }
    root = notion.add_page("CoE handbook", [paragraph("The CoE handbook.")])
    pages["rota"] = notion.add_page("Evaluation rota", [paragraph(ROTA)], parent=root)
    folder = drive.add_folder("CoE")
    pages["harbour"] = drive.add_doc("Harbour release policy", HARBOUR, folder)
    entries = [
        {
            "name": "wiki",
            "type": "confluence",
            "url": wiki.url,
            "spaces": ["ENG"],
            "username": USERNAME,
            "token_env": "WIKI_TOKEN",
            "max_retries": 1,
        },
        {
            "name": "handbook",
            "type": "notion",
            "root_page": root,
            "api_url": notion.url,
            "public": True,
        },
        {
            "name": "policies",
            "type": "gdrive",
            "folder_id": folder,
            "domain": "acme.com",
            "api_url": drive.url,
            "credentials_env": "DRIVE_KEY",
        },
    ]
    sources = tmp_path / "sources.yaml"
    sources.write_text(json.dumps({"sources": entries}), encoding="utf-8")  # JSON is YAML
    env = {
        "COE_SOURCES_FILE": str(sources),
        "COE_DATA_DIR": str(tmp_path / "data"),
        "WIKI_TOKEN": TOKEN,
        "NOTION_TOKEN": notion.token,
        "DRIVE_KEY": str(drive.key_file(tmp_path / "key.json")),
    }
    return pages, env


def _ask(cli, question: str, env: dict, *extra: str) -> dict:
    return cli.json("ask", question, *extra, env=env)


def _cited(answer: dict) -> set[str]:
    return {s["source"] for s in answer["sources"] if s["cited"]}


def _row(output: str, name: str) -> list[str]:
    line = next(ln for ln in output.splitlines() if ln.strip().startswith(f"│ {name} "))
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_three_services_sync_answer_with_their_links_and_keep_restricted_pages_to_staff(
    cli, services, tmp_path
):
    wiki, notion, drive = services
    pages, env = _setup(tmp_path, wiki, notion, drive)

    checked = cli("sources", "check", "--json", env=env)
    assert checked.exit_code == 0, checked.output
    assert {r["name"]: r["items"] for r in json.loads(checked.stdout)} == {
        "wiki": 2,
        "handbook": 2,
        "policies": 1,
    }

    synced = cli("sources", "sync", env=env)
    assert synced.exit_code == 0, synced.output
    assert _row(synced.stdout, "wiki")[:4] == ["wiki", "confluence", "2", "2"]  # listed, added

    deploys = _ask(cli, "When are billing service deploys to production?", env)
    assert "Tuesdays" in deploys["answer"]
    assert any(f"/pages/{pages['deploys']}/" in link for link in _cited(deploys))
    rota = _ask(cli, "When does the evaluation rota hand over?", env)
    assert "second Thursday" in rota["answer"]
    assert any(pages["rota"].replace("-", "") in link for link in _cited(rota))
    harbour = _ask(cli, "Who holds the harbour release key?", env)
    assert "Odile Lindqvist" in harbour["answer"]
    assert any(pages["harbour"] in link for link in _cited(harbour))

    # Restricted in Confluence: never in a channel answer, there for staff.
    question = "When are salary bands for machine learning engineers reviewed?"
    assert "Theo Marchetti" not in _ask(cli, question, env)["answer"]
    assert "Theo Marchetti" in _ask(cli, question, env, "--staff")["answer"]

    listed = cli.json("sources", "list", env=env)
    assert [(r["name"], r["type"], r["indexed"]) for r in listed] == [
        ("wiki", "confluence", 2),
        ("handbook", "notion", 2),
        ("policies", "gdrive", 1),
    ]


def test_a_second_sync_fetches_nothing_and_a_failing_source_leaves_the_rest(
    cli, services, tmp_path
):
    wiki, notion, drive = services
    pages, env = _setup(tmp_path, wiki, notion, drive)
    assert cli("sources", "sync", env=env).exit_code == 0

    wiki.requests.clear()
    notion.requests.clear()
    drive.log.clear()
    again = cli("sources", "sync", env=env)
    assert again.exit_code == 0, again.output
    assert wiki.body_requests() == []
    assert drive.requests("media", "export") == []
    assert "5 unchanged" in again.output
    assert "0 chunks embedded" in again.output

    # The wiki refuses the token and a Drive file is deleted; Notion gets a new page.
    wiki.wrong_credentials = True
    drive.delete(pages["harbour"])
    notion.edit(pages["rota"], [paragraph(ROTA.replace("second Thursday", "first Monday"))])
    failed = cli("sources", "sync", env=env)
    assert failed.exit_code == 1
    status = _row(failed.stdout, "wiki")[-1]
    assert "failed" in status and "HTTP 401" in failed.stdout and TOKEN not in failed.output
    assert _row(failed.stdout, "policies")[5] == "1"  # removed
    assert _row(failed.stdout, "handbook")[4] == "1"  # updated

    assert "Tuesdays" in _ask(cli, "When are billing service deploys to production?", env)["answer"]
    assert "first Monday" in _ask(cli, "When does the evaluation rota hand over?", env)["answer"]
    gone = _ask(cli, "Who holds the harbour release key?", env)
    assert "Odile Lindqvist" not in gone["answer"]
