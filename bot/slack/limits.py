"""A per-user sliding-window limit: floods get a polite answer instead of an endless queue."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque


class PerUserLimiter:
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
