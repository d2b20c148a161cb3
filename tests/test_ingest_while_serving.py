"""A running `coe serve` keeps answering, with zero failures, while another process ingests
and while it rebuilds the index; then it answers from what was published.

The knowledge base holds a staff-only document: channel questions then search with an audience
filter, which is what used to break a long-running server after an ingest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import REPO, doc
from tests.serve_process import ServeProcess
from tests.slack_harness import mention

pytestmark = pytest.mark.slow

TOPICS = [
    ("Harbour budget", "The harbour budget is approved by the port finance board each spring."),
    ("Lighthouse rota", "The lighthouse rota is planned by the coastal operations desk."),
    ("Buoy colours", "Green buoys mark the starboard side of the channel at night."),
    ("Tide tables", "Tide tables are published by the hydrographic team every Monday."),
    ("Pilot boarding", "Pilots board large vessels two miles outside the breakwater."),
]
NEW_TOPICS = [
    (f"Quay {n} cranes", f"Crane {n} on the quay is serviced by the zeppelin-{n} maintenance crew.")
    for n in range(30)
]


def _coe(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _bot_reply(double, channel: str, ts: str) -> dict | None:
    replies = [m for m in double.thread(channel, ts)[1:] if m.get("bot_id")]
    return replies[0] if replies else None


def _stream_while(server, double, running: subprocess.Popen, prefix: str, minimum: int) -> list:
    """Asks questions every 0.1 s while `running` runs, then a few more; returns the asked."""
    asked: list[dict] = []
    n = 0
    while running.poll() is None or len(asked) < minimum:
        topic = TOPICS[n % len(TOPICS)][0]
        event = mention(f"What about the {topic.lower()}?", ts=f"{prefix}.{n:06d}", user="U1")
        double.add_event(event)
        assert server.event(event).status == 200
        asked.append(event)
        n += 1
        time.sleep(0.1)
    return asked


def _all_answered(double, asked: list[dict], timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [_bot_reply(double, "C1", e["ts"]) for e in asked]
        if all(replies):
            return replies
        time.sleep(0.25)
    missing = sum(1 for e in asked if not _bot_reply(double, "C1", e["ts"]))
    raise AssertionError(f"{missing} of {len(asked)} questions got no answer")


def test_a_stream_of_questions_during_ingest_and_rebuild_has_no_failures(cli, double, tmp_path):
    kb = tmp_path / "kb"
    for title, text in TOPICS:
        (kb / f"{title.lower().replace(' ', '-')}.md").parent.mkdir(parents=True, exist_ok=True)
        (kb / f"{title.lower().replace(' ', '-')}.md").write_text(
            doc(title, f"{text}\n\n## Details\n\n{text} Ask the harbour master for exceptions.")
        )
    (kb / "staff-notes.md").write_text(
        doc(
            "Staff notes", "Internal: the harbour budget review is on Friday.", audience="coe-staff"
        )
    )
    data = tmp_path / "data"
    assert cli("ingest", str(kb), "--data-dir", str(data)).exit_code == 0
    env = {
        **os.environ,
        "COE_DATA_DIR": str(data),
        "COE_RATE_LIMIT_PER_MINUTE": "100000",
        "COE_SWEEP_INTERVAL_S": "1",
    }
    server = ServeProcess(
        api_url=double.url,
        data_dir=data,
        env={**env, "COE_DATABASE_URL": f"sqlite:///{tmp_path}/coe.db"},
        log_path=tmp_path / "serve.log",
    )
    with server:
        server.start()
        first_generation = (data / "index" / "CURRENT").read_text()

        for title, text in NEW_TOPICS:
            (kb / f"{title.lower().replace(' ', '-')}.md").write_text(
                doc(title, f"{text}\n\n## Schedule\n\n{text} " * 3)
            )
        ingest = _coe(["ingest", str(kb)], env)
        during_ingest = _stream_while(server, double, ingest, "1700200000", 100)
        output = ingest.communicate(timeout=300)[0]
        assert ingest.returncode == 0, output
        assert (data / "index" / "CURRENT").read_text() != first_generation

        rebuild = _coe(["ingest", str(kb), "--rebuild"], env)
        during_rebuild = _stream_while(server, double, rebuild, "1700300000", 100)
        output = rebuild.communicate(timeout=300)[0]
        assert rebuild.returncode == 0, output

        for asked in (during_ingest, during_rebuild):
            replies = _all_answered(double, asked)
            texts = [json.dumps(r["blocks"]) for r in replies]
            failed = [t for t in texts if "something went wrong" in t]
            assert len(asked) >= 100 and not failed, f"{len(failed)} failed"
            assert all("Internal:" not in t for t in texts)  # staff-only stays out of channels

        # What the rebuild published is what the long-running server now answers from.
        fresh = mention("Who services crane 7 on the quay?", ts="1700400000.000001")
        double.add_event(fresh)
        server.event(fresh)
        answer = _all_answered(double, [fresh])[0]
        assert "zeppelin-7" in json.dumps(answer["blocks"])
        assert "Error finding id" not in server.log_text()
        assert server.get("/readyz").status == 200


def test_answers_in_flight_while_generations_switch_read_one_generation(cli, tmp_path):
    """Threads keep asking while ingests publish generations of very different sizes: an
    answer begun on one generation must not look up its hits in the next one's chunks."""
    from bot.answering.service import AnswerService

    kb = tmp_path / "kb"
    kb.mkdir()
    for title, text in TOPICS:
        (kb / f"{title.lower().replace(' ', '-')}.md").write_text(doc(title, text))
    many = [kb / f"quay-{n}.md" for n in range(40)]
    data = tmp_path / "data"

    def publish(large: bool) -> None:
        for n, path in enumerate(many):
            if large:
                path.write_text(doc(f"Quay {n}", f"Crane {n} is serviced by crew {n}. " * 40))
            else:
                path.unlink(missing_ok=True)
        result = cli("ingest", str(kb), "--data-dir", str(data))
        assert result.exit_code == 0, result.output

    publish(large=True)
    service = AnswerService(data)
    service.warm_up()
    errors: list[BaseException] = []
    answered = 0
    stop = threading.Event()

    def ask_until_stopped() -> None:
        nonlocal answered
        n = 0
        while not stop.is_set():
            try:
                service.ask(f"Who services crane {n % 40} on the quay?")
                answered += 1
            except BaseException as error:  # any failure is the finding
                errors.append(error)
            n += 1

    rounds = 6
    askers = [threading.Thread(target=ask_until_stopped) for _ in range(3)]
    for thread in askers:
        thread.start()
    try:
        for round_ in range(rounds):
            publish(large=round_ % 2 == 1)
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in askers:
            thread.join()
    assert answered > rounds and not errors, f"{len(errors)} failed, first: {errors[:1]!r}"
