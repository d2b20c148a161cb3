"""Owner verification from the terminal (issue 14, first part): `coe docs stale`, `owners`
and `verify`, on SQLite and PostgreSQL; the owner's word is kept in the database."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from ingest.frontmatter import read_header
from tests.conftest import doc, fresh_store

TODAY = date.today()
PAST = (TODAY - timedelta(days=40)).isoformat()
SOON = (TODAY + timedelta(days=5)).isoformat()
LATER = (TODAY + timedelta(days=300)).isoformat()


@pytest.fixture()
def setup(cli, write, tmp_path, database_url):
    fresh_store(database_url)
    write("cards.md", doc("Model cards", "Every model ships with a model card.",
                          owner="Priya Raman", review_by=PAST, review_every="90"))  # fmt: skip
    write("keys.md", doc("Release keys", "Release keys are rotated yearly.",
                         owner="Kofi Mensah <kofi@acme.com>", review_by=SOON))  # fmt: skip
    write("rota.md", doc("Evaluation rota", "The rota hands over on Thursdays.",
                         owner="Ines Park", owner_slack="U0INES", review_by=LATER))  # fmt: skip
    owners = tmp_path / "owners.yaml"
    owners.write_text("Priya Raman: U0PRIYA\nkofi@acme.com: U0KOFI\n", encoding="utf-8")
    env = {
        "COE_DATABASE_URL": database_url,
        "COE_OWNERS_FILE": str(owners),
        "COE_KNOWLEDGE_DIRS": str(write.root),
        "COE_DATA_DIR": str(tmp_path / "data"),
    }
    assert cli("ingest", env=env).exit_code == 0
    return env


def _stale(cli, env, *extra: str) -> list[dict]:
    result = cli("docs", "stale", "--json", *extra, env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_due_documents_are_listed_with_their_owners_slack_ids(cli, setup):
    due = _stale(cli, setup)  # past, and within the 14 days' notice
    assert [(d["title"], d["owner_slack"], d["review_by"]) for d in due] == [
        ("Model cards", "U0PRIYA", PAST),
        ("Release keys", "U0KOFI", SOON),
    ]
    assert [d["title"] for d in _stale(cli, setup, "--within", "0")] == ["Model cards"]

    owners = json.loads(cli("docs", "owners", "--json", env=setup).stdout)
    assert {o["owner"]: (o["owner_slack"], o["due"]) for o in owners} == {
        "Priya Raman": (["U0PRIYA"], 1),
        "Kofi Mensah <kofi@acme.com>": (["U0KOFI"], 1),
        "Ines Park": (["U0INES"], 0),
    }


def test_still_accurate_moves_the_review_date_and_survives_a_re_ingest(cli, setup, write):
    verified = cli("docs", "verify", "cards.md", "--by", "U0PRIYA", "--json", env=setup)
    assert verified.exit_code == 0, verified.output
    until = (TODAY + timedelta(days=90)).isoformat()  # the document's review_every
    assert json.loads(verified.stdout)["review_by"] == until
    assert [d["title"] for d in _stale(cli, setup)] == ["Release keys"]

    # The file still says PAST and is edited: the verification is the database's, it stays.
    write("cards.md", doc("Model cards", "Every model ships with a signed model card.",
                          owner="Priya Raman", review_by=PAST, review_every="90"))  # fmt: skip
    assert cli("ingest", env=setup).exit_code == 0
    assert "Model cards" not in [d["title"] for d in _stale(cli, setup)]
    listed = {d["title"]: d for d in _stale(cli, setup, "--within", "400")}
    assert listed["Model cards"]["verified_by"] == "U0PRIYA"
    assert listed["Model cards"]["verified_on"] == TODAY.isoformat()


def test_verify_names_the_documents_it_could_mean(cli, setup):
    result = cli("docs", "verify", "card", "--by", "someone", env=setup)
    assert result.exit_code == 2
    assert "cards.md" in result.output


def test_a_wrong_owner_slack_or_review_every_is_noted_and_ignored():
    header = read_header({"title": "X", "owner_slack": "priya", "review_every": "soon"})
    assert header.meta.owner_slack is None and header.meta.review_every is None
    assert any("owner_slack" in n for n in header.notes)
    assert any("review_every" in n for n in header.notes)
    good = read_header({"title": "X", "owner_slack": "@U0PRIYA", "review_every": 30})
    assert (good.meta.owner_slack, good.meta.review_every) == ("U0PRIYA", 30)
