"""`coe requests …` for CoE staff at a terminal."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.consultations.models import IntakeForm
from bot.consultations.service import ConsultationService
from tests.conftest import fresh_store


@pytest.fixture()
def env(tmp_path):
    store = fresh_store(f"sqlite:///{tmp_path}/coe.db")
    service = ConsultationService(store, lambda _: True)
    for n in range(2):
        service.submit(
            IntakeForm(
                title=f"Request number {n}",
                team="Search",
                type="evaluation-design",
                description="We need help designing an evaluation set.",
            ),
            f"U{n}",
            submission_key=f"k{n}",
        )
    return {"COE_DATA_DIR": str(tmp_path), "COE_STAFF_USER_IDS": "USTAFF"}


def test_list_show_assign_status_and_export(cli, env, tmp_path):
    listed = cli.json("requests", "list", env=env)
    assert [r["public_id"] for r in listed] == ["CR-0002", "CR-0001"]
    refused = cli("requests", "assign", "CR-0001", "USTAFF", "--as", "U9", env=env)
    assert refused.exit_code == 2 and "only CoE staff" in refused.stderr
    assert cli("requests", "assign", "CR-0001", "USTAFF", "--as", "USTAFF", env=env).exit_code == 0
    assert cli("requests", "status", "cr-1", "resolved", "--as", "USTAFF", env=env).exit_code == 0
    shown = cli.json("requests", "show", "CR-0001", env=env)
    assert shown["status"] == "resolved" and shown["assignee_id"] == "USTAFF"
    assert [h["kind"] for h in shown["history"]] == ["created", "assigned", "status"]
    assert cli.json("requests", "list", "--unassigned", env=env)[0]["public_id"] == "CR-0002"
    out = tmp_path / "requests.csv"
    assert cli("requests", "export", "--out", str(out), env=env).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["public_id"] for r in rows] == ["CR-0002", "CR-0001"]
    assert rows[1]["status"] == "resolved"
    exported = json.loads(cli("requests", "export", "--format", "json", env=env).stdout)
    assert len(exported) == 2
    missing = cli("requests", "show", "CR-0099", env=env)
    assert missing.exit_code == 2 and "no request CR-0099" in missing.stderr
