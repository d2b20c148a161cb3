"""Stores incoming questions in small batches, so a burst of events costs a few transactions.

Each event's thread waits for its own question to be committed (persist before ack), but a
single writer thread commits everything that arrived meanwhile in one transaction: under a
burst that is a handful of commits instead of one per event, each fighting for the write lock.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from bot.work.questions import Job, QuestionJobs, Ticket

log = logging.getLogger(__name__)

BATCH_MAX = 100
WAIT_S = 1.5  # then give up on storing it, if the writer has not started on it yet
FINISH_S = 10.0  # a batch already in a transaction ends within the quick session's limits


class NotStoredError(Exception):
    """The question could not be stored in time; it was not stored at all."""


class BatchedReceiver:
    def __init__(self, jobs: QuestionJobs) -> None:
        self.jobs = jobs
        self._queue: queue.Queue[tuple[Ticket, Future]] = queue.Queue()
        threading.Thread(target=self._run, name="coe-intake", daemon=True).start()

    def receive(self, ticket: Ticket) -> tuple[Job, bool]:
        """Returns (job, created) once committed; raises the database's error, or
        NotStoredError when it timed out before the write began (then nothing was stored)."""
        future: Future[tuple[Job, bool]] = Future()
        self._queue.put((ticket, future))
        try:
            return future.result(timeout=WAIT_S)
        except FutureTimeout:
            if future.cancel():
                raise NotStoredError("the database did not take the question in time") from None
            # Already being written: its outcome is decided within the transaction's limits.
            return future.result(timeout=FINISH_S)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH_MAX:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            taken = [(t, f) for t, f in batch if f.set_running_or_notify_cancel()]
            if not taken:
                continue
            try:
                results = self.jobs.receive_many([t for t, _ in taken])
            except Exception as error:
                for _, future in taken:
                    future.set_exception(error)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                future.set_result(result)
