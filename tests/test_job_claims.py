"""Named claims: each background job runs once across replicas (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from bot.work.claims import JobClaims
from tests.conftest import fresh_store


def test_one_holder_at_a_time_and_a_released_claim_is_free(database_url):
    store = fresh_store(database_url)
    one = JobClaims(store, owner="host-a:1:aaaa")
    two = JobClaims(store, owner="host-b:2:bbbb")
    assert one.take("ingest", 60)
    assert not two.take("ingest", 60)
    assert two.holder("ingest") == "host-a:1:aaaa"
    assert one.renew("ingest", 60)
    assert not two.renew("ingest", 60)
    one.release("ingest")
    assert two.take("ingest", 60)
    assert not one.renew("ingest", 60)  # lost: a run holding it must not publish


def test_a_lapsed_lease_is_taken_over(database_url):
    store = fresh_store(database_url)
    assert JobClaims(store, owner="host-a:1:aaaa").take("purge", 0)
    assert JobClaims(store, owner="host-b:2:bbbb").take("purge", 60)


def test_a_daily_job_raced_by_four_replicas_runs_once(database_url):
    store = fresh_store(database_url)
    runs: list[str] = []
    barrier = threading.Barrier(4)

    def replica(n: int) -> None:
        claims = JobClaims(store, owner=f"host-{n}:{n}:cafe")
        barrier.wait()
        claims.run_if_due("retention-purge", 24 * 3600, lambda: runs.append(claims.owner))

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    # Not due again until tomorrow, whoever asks.
    assert not JobClaims(store, owner="host-9:9:beef").run_if_due(
        "retention-purge", 24 * 3600, lambda: runs.append("again")
    )
    assert len(runs) == 1
