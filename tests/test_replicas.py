"""Replicas as a company runs them: two `coe serve` processes on one fresh PostgreSQL
database and one Chroma server (`chroma run`), each with its own empty data directory. An
ingest job (a third process) publishes the index they both follow."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import REPO, doc, wait_until
from tests.serve_process import ServeProcess
from tests.slack_harness import mention


@pytest.fixture()
def shared(fresh_postgres, chroma):
    return {"COE_DATABASE_URL": fresh_postgres, "COE_CHROMA_URL": chroma.url}


def _ingest(env: dict[str, str], data_dir, *paths) -> subprocess.CompletedProcess:
    """`coe ingest` as the scheduled ingest job runs it: its own process and data folder."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli.main",
            "ingest",
            "--data-dir",
            str(data_dir),
            *map(str, paths),
        ],
        cwd=REPO,
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("COE_", "SLACK_"))}


@pytest.fixture()
def start_replicas(kb_data, double, shared, tmp_path):
    """Publishes the bundled knowledge base (an index built before it was shared: its vectors
    go to the server as they are), then starts replicas at the same moment."""
    job = tmp_path / "ingest-job"
    shutil.copytree(kb_data, job)
    published = _ingest(shared, job)
    assert published.returncode == 0, published.stderr
    servers: list[ServeProcess] = []

    def start(count: int = 2, **env: str) -> list[ServeProcess]:
        batch = [
            ServeProcess(
                api_url=double.url,
                data_dir=tmp_path / f"replica{len(servers) + n}",  # empty: nothing copied
                log_path=tmp_path / f"replica{len(servers) + n}.log",
                env={
                    **shared,
                    "COE_RATE_LIMIT_PER_MINUTE": "2",
                    "COE_SWEEP_INTERVAL_S": "1",
                    "COE_INDEX_SYNC_S": "2",
                    **env,
                },
            )
            for n in range(count)
        ]
        servers.extend(batch)
        # Started at the same moment: both migrate the fresh database at once.
        errors: list[BaseException] = []

        def run(server: ServeProcess) -> None:
            try:
                server.start()
            except BaseException as error:  # reported below, with the server's log
                errors.append(error)

        threads = [threading.Thread(target=run, args=(s,)) for s in batch]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        return batch

    yield start
    for server in servers:
        server.close()


@pytest.fixture()
def replicas(start_replicas):
    return start_replicas()


def _metric(server: ServeProcess, name: str) -> float | None:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(rf"^{name} ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else None


def _ready(server: ServeProcess) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait(condition, timeout: float):
    return wait_until(condition, timeout, every=0.25)


def test_two_replicas_on_a_fresh_database_share_the_work_once(replicas, double):
    one, two = replicas
    for server in replicas:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=10) as response:
            assert response.status == 200
    # The same event delivered to both at once (Slack retrying to another replica).
    event = mention("Who owns red-teaming?", ts="1700010000.000100", user="UONE")
    results: list[int] = []
    senders = [
        threading.Thread(target=lambda s=s: results.append(s.event(event, "EvSame0001").status))
        for s in replicas
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert results == [200, 200]
    double.wait_for("chat.postMessage", thread_ts="1700010000.000100")
    # One person, alternating replicas: the limit of 2 a minute holds across both.
    for n, server in enumerate([one, two, one, two]):
        server.event(
            mention(f"Who owns red-teaming? ({n})", ts=f"1700010001.00010{n}", user="UFLOOD")
        )
    posts = double.wait_for("chat.postMessage", count=5)
    time.sleep(2)  # a duplicate would show up now
    threads = [p.body.get("thread_ts") for p in double.of("chat.postMessage")]
    assert threads.count("1700010000.000100") == 1
    limited = [p for p in posts if "my limit per person" in (p.body.get("text") or "")]
    assert len(limited) == 2
    assert len(threads) == 5


def test_a_generation_published_during_a_stream_of_questions_reaches_both_without_a_failure(
    replicas, double, shared, kb_data, tmp_path, bundled
):
    one, two = replicas
    assert _metric(one, "coe_index_generation") == _metric(two, "coe_index_generation") == 1
    knowledge = tmp_path / "job-disk" / bundled.name  # the same folder, on another machine
    shutil.copytree(bundled, knowledge)
    (knowledge / "parking.md").write_text(
        doc("Office Parking", "The CoE parking garage opens at 7am for level 3 badge holders.")
    )
    asked: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        n = 0
        while not stop.is_set():
            ts = f"1700020000.{n:06d}"
            server = (one, two)[n % 2]
            server.event(mention(f"Who owns red-teaming? #{n}", ts=ts, user=f"USTREAM{n}"))
            asked.append(ts)
            n += 1
            time.sleep(0.5)

    asker = threading.Thread(target=stream)
    asker.start()
    try:
        job = _ingest(shared, tmp_path / "ingest-job-2", knowledge)
        assert job.returncode == 0, job.stderr
        assert "1 added" in job.stderr
        published = time.monotonic()
        _wait(lambda: _metric(one, "coe_index_generation") == 2, 30)
        _wait(lambda: _metric(two, "coe_index_generation") == 2, 30)
        switched_s = time.monotonic() - published
        time.sleep(2)  # a few more questions on the new generation
    finally:
        stop.set()
        asker.join()
    assert switched_s < 30
    double.wait_for("chat.postMessage", count=len(asked), timeout=60)
    replies = {
        p.body.get("thread_ts"): p.body.get("text") or "" for p in double.of("chat.postMessage")
    }
    assert set(asked) <= set(replies)
    failed = [t for t in asked if "went wrong" in replies[t]]
    assert not failed, failed
    assert len(double.of("chat.postMessage")) == len(asked)  # each answered once

    for n, server in enumerate((one, two)):
        ts = f"1700020100.00000{n}"
        server.event(mention("When does the parking garage open?", ts=ts, user=f"UPARK{n}"))
        post = double.wait_for("chat.postMessage", thread_ts=ts)[0]
        assert "7am" in json.dumps(post.body)


def test_a_chroma_restart_is_reported_not_ready_and_recovers_without_restarting_the_bot(
    replicas, double, chroma
):
    one, two = replicas
    chroma.stop()
    for server in (one, two):
        _, body = _wait(lambda s=server: (r := _ready(s))[0] == 503 and r, 15)
        assert body["checks"]["chroma"] == "failing"
    # Questions in the gap are answered from the generation each replica holds in memory.
    for n, server in enumerate((one, two)):
        ts = f"1700030000.00000{n}"
        server.event(mention("Who owns red-teaming?", ts=ts, user=f"UGAP{n}"))
        post = double.wait_for("chat.postMessage", thread_ts=ts)[0]
        assert "went wrong" not in (post.body.get("text") or "")
        assert "*Sources*" in json.dumps(post.body.get("blocks"))
    chroma.start()
    for server in (one, two):
        _wait(lambda s=server: _ready(s)[0] == 200, 30)
        assert server.running


def test_a_replica_killed_mid_answer_leaves_the_retry_to_the_other_once(start_replicas, double):
    from tests.llm_double import LLMDouble, citing
    from tests.test_slack_written import ALSO_GOOD, CHARTER, GOOD, QUESTION

    with LLMDouble() as llm:
        one, two = start_replicas(
            COE_LLM_BASE_URL=llm.base_url, COE_LLM_MODEL="coe-test-model", COE_LLM_TIMEOUT_S="60"
        )
        llm.script(citing(CHARTER, GOOD, ALSO_GOOD, stall_after_chunks=9, stall_mid_s=60))
        question = mention(QUESTION, ts="1700040000.000100")
        double.add_event(question)
        one.event(question, event_id="EvKILL0001")
        started = double.wait_for("chat.startStream", timeout=60)[0]
        assert "self-certified" in started.body["markdown_text"]
        time.sleep(1)  # the stream's ts is recorded just after Slack answers
        one.kill()
        one.wait(10)

        llm.script(citing(CHARTER, GOOD, ALSO_GOOD))
        assert two.event(question, event_id="EvKILL0001", retry_num=1).status == 200

        def finished() -> list[dict]:
            thread = double.thread("C1", "1700040000.000100")[1:]
            done = [m for m in thread if m.get("bot_id") and not m.get("streaming")]
            return done if len(done) >= 2 else []

        replies = _wait(finished, 90)
        time.sleep(3)  # a second answer would show up now
    replies = [m for m in double.thread("C1", "1700040000.000100")[1:] if m.get("bot_id")]
    assert len(replies) == 2, replies
    interrupted, answer = replies
    assert "interrupted" in interrupted["text"]
    assert "self-certified" in answer["text"] and "high-risk" in answer["text"]
    assert two.running


def test_a_repost_racing_both_replicas_loops_after_a_slack_outage_posts_each_card_once(
    start_replicas, double, shared
):
    from bot.consultations.service import ConsultationService
    from bot.db.engine import make_engine
    from bot.db.store import Store
    from tests.test_slack_consultations import submission

    triage = "CTRIAGE01"
    # A long backoff: after the outage the cards wait for the repost, which makes them due
    # at once, while both replicas' loops (every second) deliver whatever is due.
    one, two = start_replicas(COE_TRIAGE_CHANNEL_ID=triage, COE_DELIVERY_BACKOFF_S="600")
    double.fail("chat.postMessage", status=500, times=10_000)  # Slack is down
    for n, server in enumerate((one, two, one, two)):
        reply = server.interaction(submission(view_id=f"VRACE{n}", title=f"Review number {n}"))
        assert reply.status == 200
    consultations = ConsultationService(
        Store(make_engine(shared["COE_DATABASE_URL"])), lambda _user: False
    )
    _wait(
        lambda: len(requests := consultations.list()) == 4 and all(r.post_error for r in requests),
        30,
    )
    double.clear_faults("chat.postMessage")  # Slack is back

    repost = subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "requests", "repost"],
        cwd=REPO,
        env={
            **_base_env(),
            **shared,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_API_URL": double.url,
            "COE_TRIAGE_CHANNEL_ID": triage,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert repost.returncode == 0, repost.stderr
    _wait(lambda: all(r.posted for r in consultations.list()), 30)
    time.sleep(3)  # a second card would show up now
    cards = [
        c.body.get("text") or ""
        for c in double.of("chat.postMessage")
        if c.body.get("channel") == triage and c.fault is None
    ]
    assert len(cards) == 4 and len(set(cards)) == 4, cards
