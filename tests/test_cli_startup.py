"""`coe --help`, `coe requests …` and `coe report` start without the model stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.consultations.models import IntakeForm
from bot.consultations.service import ConsultationService
from tests.conftest import REPO, fresh_store

MODEL_STACK = {
    "torch",
    "sentence_transformers",
    "transformers",
    "onnxruntime",
    "chromadb",
    "llama_index",
}
# Not the model, but what `coe --help` used to pay for before printing a line.
SETTINGS_AND_DATABASE = {"sqlalchemy", "pydantic_settings", "bot.settings", "bot.container"}

# A fresh interpreter per command: in-process, the test session has imported everything.
PROBE = """
import json, sys
from bot.cli.main import app
code = 0
try:
    code = app(sys.argv[1:], prog_name="coe", standalone_mode=False)
except SystemExit as exit:
    code = exit.code
finally:
    print(json.dumps({"code": code or 0, "loaded": sorted(sys.modules)}), file=sys.stderr)
"""


def _coe(*args: str, data_dir=None) -> tuple[str, int, set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COE_", "SLACK_"))}
    if data_dir is not None:
        env["COE_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    return done.stdout, probe["code"], set(probe["loaded"])


def test_top_level_help_loads_neither_the_model_nor_settings_nor_the_database():
    shown, code, loaded = _coe("--help")
    assert code == 0
    assert "CoE Assistant: grounded answers" in shown
    for command in ("ingest", "ask", "report", "requests", "checklists", "db"):
        assert command in shown
    assert loaded & (MODEL_STACK | SETTINGS_AND_DATABASE) == set()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("requests", "--help"), "Consultation requests: list, inspect, triage, export."),
        (("requests", "list", "--help"), "waiting-on-requester"),
        (("report", "--help"), "Write the impact report"),
    ],
)
def test_subcommand_help_loads_neither_the_model_nor_the_database(args, expected):
    shown, code, loaded = _coe(*args)
    assert code == 0
    assert expected in shown
    assert loaded & (MODEL_STACK | SETTINGS_AND_DATABASE) == set()


def test_requests_list_reads_the_database_without_the_model(tmp_path):
    service = ConsultationService(fresh_store(f"sqlite:///{tmp_path}/coe.db"), lambda _: True)
    service.submit(
        IntakeForm(
            title="Review our launch plan",
            team="Search",
            type="launch-readiness",
            description="We launch next month and need a readiness review.",
        ),
        "U1",
        submission_key="k1",
    )
    shown, code, loaded = _coe("requests", "list", "--json", data_dir=tmp_path)
    assert code == 0
    assert [(r["public_id"], r["title"]) for r in json.loads(shown)] == [
        ("CR-0001", "Review our launch plan")
    ]
    assert loaded & MODEL_STACK == set()


def test_report_with_no_questions_to_group_does_not_load_the_model(tmp_path):
    out = tmp_path / "report"
    _, code, loaded = _coe(
        "report", "--from", "2024-01-01", "--to", "2024-01-31", "--out", str(out), data_dir=tmp_path
    )
    assert code == 0
    assert (out / "report.md").is_file()
    # Knowledge gaps are grouped by meaning, so a period with unanswered questions does embed
    # them; with none, nothing should load the model.
    assert loaded & MODEL_STACK == set()
