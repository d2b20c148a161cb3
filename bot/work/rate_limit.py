"""Per-user rate limits: floods get a polite answer instead of an endless queue.

`SharedLimiter` counts in the database, so N replicas give a person the limit once, not N
times. It approximates a sliding window from two fixed ones (the previous window's count,
weighted by how much of it still overlaps the last `window_s` seconds, plus the current one),
with one atomic upsert per question. If the database cannot be reached the question is let
through on the process's own count: a flood is better than silence.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine

from bot.db.models import RateWindow
from bot.db.store import Store

log = logging.getLogger(__name__)


class Limiter(Protocol):
    limit: int

    def allow(self, user_id: str) -> bool: ...


class PerUserLimiter:
    """One process's own sliding window."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self._window = window_s
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, user_id: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = self._seen[user_id]
            while recent and now - recent[0] > self._window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True


class _Shared:
    """A limit counted where every replica sees it; the process's own count while that
    place cannot be reached (a flood is better than silence)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self._window = window_s
        self._clock = clock
        self._local = PerUserLimiter(limit, window_s)

    def allow(self, user_id: str) -> bool:
        try:
            return self._allow(user_id)
        except Exception as error:  # the database or Redis is down
            log.warning("shared rate limit unavailable (%s); counting in this process", error)
            return self._local.allow(user_id)

    def _allow(self, user_id: str) -> bool:
        raise NotImplementedError


class SharedLimiter(_Shared):
    def __init__(
        self,
        store: Store,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limit, window_s, clock)
        self._store = store

    def _allow(self, user_id: str) -> bool:
        now = self._clock()
        window = int(now // self._window)
        overlap = 1.0 - (now % self._window) / self._window
        # Quick: this runs before the answer, and a slow database must not hold it up long.
        with self._store.session(quick=True) as connection:
            count = connection.execute(_upsert(self._store.engine, user_id, window)).scalar_one()
            previous = connection.execute(
                select(RateWindow.count).where(
                    RateWindow.user_id == user_id, RateWindow.bucket == window - 1
                )
            ).scalar()
            estimate = (previous or 0) * overlap + count
            if estimate > self.limit:
                # Refused questions do not use up the allowance.
                connection.execute(
                    update(RateWindow)
                    .where(RateWindow.user_id == user_id, RateWindow.bucket == window)
                    .values(count=RateWindow.count - 1)
                )
                return False
            if count == 1:  # first question of a window: forget this person's old windows
                connection.execute(
                    delete(RateWindow).where(
                        RateWindow.user_id == user_id, RateWindow.bucket < window - 1
                    )
                )
            return True


def _upsert(engine: Engine, user_id: str, window: int):
    """INSERT … ON CONFLICT DO UPDATE count = count + 1 RETURNING count: atomic on both
    SQLite and PostgreSQL."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    statement = insert(RateWindow).values(user_id=user_id, bucket=window, count=1)
    return statement.on_conflict_do_update(
        index_elements=["user_id", "bucket"], set_={"count": RateWindow.count + 1}
    ).returning(RateWindow.count)


class RedisLimiter(_Shared):
    """The same two-window estimate, counted in Redis (COE_REDIS_URL): one round trip per
    question, and keys expire by themselves."""

    def __init__(
        self,
        url: str,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import redis

        super().__init__(limit, window_s, clock)
        self._redis = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def _allow(self, user_id: str) -> bool:
        now = self._clock()
        window = int(now // self._window)
        overlap = 1.0 - (now % self._window) / self._window
        key = f"coe:rate:{user_id}:{window}"
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, int(self._window * 2) + 1)
        pipe.get(f"coe:rate:{user_id}:{window - 1}")
        count, _, previous = pipe.execute()
        if int(previous or 0) * overlap + int(count) > self.limit:
            self._redis.decr(key)  # refused questions do not use up the allowance
            return False
        return True
