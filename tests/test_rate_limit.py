"""The per-person rate limit is shared by replicas: counted in the database (SQLite,
PostgreSQL) or in Redis."""

from __future__ import annotations

import os
import threading
import uuid

from bot.db.engine import make_engine
from bot.db.store import Store
from bot.work.rate_limit import RedisLimiter, SharedLimiter
from tests.conftest import fresh_store


def test_two_replicas_share_one_limit_and_it_slides(database_url):
    store = fresh_store(database_url)
    other = Store(make_engine(database_url))  # a second replica: its own engine and pool
    now = [6000.0]
    a = SharedLimiter(store, limit=3, clock=lambda: now[0])
    b = SharedLimiter(other, limit=3, clock=lambda: now[0])
    asked = [a.allow("UFLOOD"), b.allow("UFLOOD"), a.allow("UFLOOD"), b.allow("UFLOOD")]
    assert asked == [True, True, True, False]
    assert a.allow("USOMEONE")  # a limit per person
    assert not a.allow("UFLOOD")  # refusals do not add to the count
    now[0] += 60  # a window later the three still fill the last 60 seconds
    assert not b.allow("UFLOOD")
    now[0] += 30  # half a window on: 3 x 0.5 + 1 = 2.5 fits, 3 x 0.5 + 2 = 3.5 does not
    assert a.allow("UFLOOD")
    assert not b.allow("UFLOOD")


def test_a_burst_from_many_threads_on_two_replicas_lets_exactly_the_limit_through(database_url):
    store = fresh_store(database_url)
    replicas = [
        SharedLimiter(store, limit=5, clock=lambda: 9000.0),
        SharedLimiter(Store(make_engine(database_url)), limit=5, clock=lambda: 9000.0),
    ]
    allowed: list[bool] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        result = replicas[n % 2].allow("UBURST")
        with lock:
            allowed.append(result)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 20 and sum(allowed) == 5


def test_an_unreachable_database_falls_back_to_the_process_count(tmp_path):
    store = Store(make_engine("postgresql://postgres@127.0.0.1:1/none", wait_s=0.5))
    limiter = SharedLimiter(store, limit=2)
    assert [limiter.allow("U1") for _ in range(3)] == [True, True, False]


REDIS_URL = os.environ.get("COE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_with_redis_two_replicas_share_one_limit_and_it_slides():
    user = f"UREDIS{uuid.uuid4().hex[:8]}"  # the Redis server is shared: a fresh person
    now = [6000.0]
    a = RedisLimiter(REDIS_URL, limit=3, clock=lambda: now[0])
    b = RedisLimiter(REDIS_URL, limit=3, clock=lambda: now[0])
    asked = [a.allow(user), b.allow(user), a.allow(user), b.allow(user)]
    assert asked == [True, True, True, False]
    assert not a.allow(user)  # refusals do not add to the count
    now[0] += 60
    assert not b.allow(user)
    now[0] += 30  # 3 x 0.5 + 1 fits, 3 x 0.5 + 2 does not
    assert a.allow(user)
    assert not b.allow(user)


def test_an_unreachable_redis_falls_back_to_the_process_count():
    limiter = RedisLimiter("redis://127.0.0.1:1/0", limit=2)
    assert [limiter.allow("U1") for _ in range(3)] == [True, True, False]
