"""Question jobs and the outbox on SQLite and PostgreSQL: one winner per claim, across replicas.

Replicas are stores on the same database with different lease owners, racing in threads.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from bot.db.store import AnswerEntry
from bot.work.outbox import Outbox, OutboxItem
from bot.work.questions import QuestionJobs, Ticket, reply_key
from tests.conftest import fresh_store


def _ticket(key: str | None = None) -> Ticket:
    return Ticket(
        key=key or f"msg:C1:{uuid.uuid4().hex}",
        surface="mention",
        user_id="U1",
        channel_id="C1",
        thread_ts="1.1",
        question="Who owns red-teaming?",
    )


def _race(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run(n: int) -> None:
        barrier.wait()
        result = work(n)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_question_is_stored_once_and_answered_by_exactly_one_replica(database_url):
    store = fresh_store(database_url)
    replicas = [QuestionJobs(store, owner=f"replica-{n}") for n in range(4)]
    job, created = replicas[0].receive(_ticket("msg:C1:1700000000.000100"))
    again, created_again = replicas[1].receive(_ticket("msg:C1:1700000000.000100"))
    assert created and not created_again
    assert again.id == job.id and again.reference == job.reference  # one reference for retries

    winners = [w for w in _race(8, lambda n: replicas[n % 4].claim(job.id)) if w is not None]
    assert len(winners) == 1 and winners[0].state == "answering"


def test_an_expired_lease_is_taken_over_and_the_late_holder_changes_nothing(database_url):
    store = fresh_store(database_url)
    slow = QuestionJobs(store, owner="replica-slow", lease_s=0.3)
    other = QuestionJobs(store, owner="replica-other")
    job, _ = slow.receive(_ticket())
    mine = slow.claim(job.id)
    assert mine is not None
    assert other.claim(job.id) is None  # the lease is still running
    time.sleep(0.4)
    taken = other.claim(job.id)
    assert taken is not None and taken.attempts == 2

    entry = AnswerEntry("mention", "U1", "C1", "1.1", "Who owns red-teaming?", answer="Priya")
    reply = OutboxItem(key=reply_key(job.reference), kind="answer", channel_id="C1")
    assert slow.finish(mine, entry, reply) is None  # lost its lease: no answer, no reply
    assert store.answer(job.reference) is None
    outbox_id = other.finish(taken, entry, reply)
    assert outbox_id is not None
    assert store.answer(job.reference).answer == "Priya"
    assert Outbox(store).get(outbox_id).key == reply_key(job.reference)
    assert other.get(job.id).state == "answered"


def test_jobs_nobody_is_answering_are_found_by_the_sweep(database_url, monkeypatch):
    import bot.work.questions as questions

    store = fresh_store(database_url)
    jobs = QuestionJobs(store, owner="replica-a", lease_s=0.2)
    fresh, _ = jobs.receive(_ticket())
    assert fresh.id not in jobs.due()  # its receiver is about to answer it
    assert jobs.hand_back() == 1  # …until it shuts down and hands it back
    assert fresh.id in jobs.due()

    monkeypatch.setattr(questions, "ORPHAN_AFTER_S", 0.0)
    orphan, _ = jobs.receive(_ticket())
    time.sleep(0.01)
    assert orphan.id in jobs.due()  # received, and its receiver never got to it
    claimed = jobs.claim(orphan.id)
    assert claimed is not None and orphan.id not in jobs.due()
    time.sleep(0.3)
    assert orphan.id in jobs.due()  # its holder's lease ran out


def test_a_dead_holder_on_this_host_is_taken_over_at_once(database_url):
    """A restarted server resumes its predecessor's work without waiting for the lease."""
    store = fresh_store(database_url)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    gone_owner = f"{socket.gethostname()[:40]}:{dead.stdout.strip()}:dead0001"
    alive_owner = f"{socket.gethostname()[:40]}:{os.getppid()}:live0001"
    for owner, expected in ((gone_owner, True), (alive_owner, False)):
        holder = QuestionJobs(store, owner=owner, lease_s=600)
        job, _ = holder.receive(_ticket())
        assert holder.claim(job.id) is not None
        assert (job.id in QuestionJobs(store).due()) is expected
        assert (QuestionJobs(store).claim(job.id) is not None) is expected


def test_an_outbox_row_is_claimed_by_one_and_a_late_failure_cannot_undo_a_success(
    database_url,
):
    store = fresh_store(database_url)
    boxes = [Outbox(store, owner=f"replica-{n}", lease_s=0.3) for n in range(4)]
    outbox_id = boxes[0].enqueue(OutboxItem(key=f"triage:{uuid.uuid4().hex}", kind="triage_card"))
    assert outbox_id is not None
    assert boxes[1].enqueue(OutboxItem(key=boxes[0].get(outbox_id).key, kind="triage_card")) is None

    winners = [d for d in _race(8, lambda n: boxes[n % 4].claim(outbox_id)) if d is not None]
    assert len(winners) == 1
    first = next(b for b in boxes if b.get(outbox_id).lease_owner == b.owner)
    time.sleep(0.4)  # the first holder stalls past its lease (a 35 s Slack response)
    second = next(b for b in boxes if b is not first)
    taken = second.claim(outbox_id)
    assert taken is not None and taken.uncertain  # it must look in Slack before posting
    assert second.sent(outbox_id, "CTRIAGE", "1700000000.000001")
    assert not first.retry(outbox_id, "timed out", uncertain=True, delay_s=0)
    assert not first.failed(outbox_id, "timed out")
    row = boxes[0].get(outbox_id)
    assert (row.state, row.message_ts) == ("sent", "1700000000.000001")
    assert outbox_id not in boxes[0].due()


@pytest.mark.parametrize("attempts, expected", [(1, 5.0), (3, 20.0), (20, 300.0)])
def test_backoff_grows_and_is_capped(attempts, expected):
    from bot.work.outbox import backoff_s

    assert expected * 0.8 <= backoff_s(attempts) <= expected * 1.2


def test_a_burst_is_stored_in_one_go_and_repeats_keep_the_first_job(database_url):
    store = fresh_store(database_url)
    jobs = QuestionJobs(store, owner="replica-a")
    first, _ = jobs.receive(_ticket("msg:C1:1.000001"))
    results = jobs.receive_many(
        [_ticket("msg:C1:1.000001"), _ticket("msg:C1:1.000002"), _ticket("msg:C1:1.000002")]
    )
    (old, old_created), (new, new_created), (same, _) = results
    assert (old.id, old.reference, old_created) == (first.id, first.reference, False)
    assert new_created and same.id == new.id  # the mention/message pair of one message


def test_a_question_the_database_cannot_take_in_time_is_reported_not_stored(tmp_path):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from bot.work.receiver import BatchedReceiver

    store = fresh_store(f"sqlite:///{tmp_path}/coe.db")
    receiver = BatchedReceiver(QuestionJobs(store))
    job, created = receiver.receive(_ticket("msg:C1:2.000001"))
    assert created and job.state == "received"
    holder = sqlite3.connect(tmp_path / "coe.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="locked"):
            receiver.receive(_ticket("msg:C1:2.000002"))
        assert time.monotonic() - started < 3.5  # Slack waits 3 s for its ack
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert QuestionJobs(store).receive(_ticket("msg:C1:2.000002"))[1]  # nothing half-stored
