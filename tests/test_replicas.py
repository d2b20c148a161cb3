"""Two `coe serve` replicas on one fresh PostgreSQL database, as a company runs it.

Each replica has its own data directory (a copy of the ingested index: sharing the index
itself is still to come); the database is shared.
"""

from __future__ import annotations

import shutil
import threading
import time
import urllib.request
import uuid

import psycopg
import pytest

from tests.conftest import POSTGRES_ADMIN
from tests.serve_process import ServeProcess
from tests.slack_harness import mention


@pytest.fixture()
def fresh_postgres():
    """A database nobody has migrated yet."""
    name = f"coe_replicas_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def replicas(kb_data, double, fresh_postgres, tmp_path):
    servers = []
    for n in (1, 2):
        data = tmp_path / f"replica{n}"
        shutil.copytree(kb_data, data)
        servers.append(
            ServeProcess(
                api_url=double.url,
                data_dir=data,
                log_path=tmp_path / f"replica{n}.log",
                env={
                    "COE_DATABASE_URL": fresh_postgres,
                    "COE_RATE_LIMIT_PER_MINUTE": "2",
                    "COE_SWEEP_INTERVAL_S": "1",
                },
            )
        )
    # Started at the same moment: both migrate the fresh database at once.
    errors: list[BaseException] = []

    def start(server: ServeProcess) -> None:
        try:
            server.start()
        except BaseException as error:  # reported below, with the server's log
            errors.append(error)

    threads = [threading.Thread(target=start, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors, errors
        yield servers
    finally:
        for server in servers:
            server.close()


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
