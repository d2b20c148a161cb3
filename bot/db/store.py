"""What the Slack app remembers: handled deliveries, answers given, feedback received."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Engine, Update, select, text
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.engine import QUICK_WAIT_S, WAIT_S, quick_engine
from bot.db.models import AnswerRecord, FeedbackRecord

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
# A question is stored whole up to here; a pasted log file is not worth keeping in full.
STORED_QUESTION_CHARS = 4000


def clip_question(text: str) -> str:
    return text if len(text) <= STORED_QUESTION_CHARS else text[: STORED_QUESTION_CHARS - 1] + "…"


def rows_affected(session: Session, statement: Update | Delete) -> int:
    """Runs an UPDATE or DELETE and says how many rows it matched."""
    # Session.execute is typed as returning a plain Result; for DML it is a CursorResult.
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def new_reference() -> str:
    """Short, unambiguous, and quotable over the phone: e.g. Q7KM2XPA."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class AnswerEntry:
    surface: str
    user_id: str
    channel_id: str
    thread_ts: str | None
    question: str
    answer: str = ""
    abstained: bool = False
    failed: bool = False
    source_doc_ids: tuple[str, ...] = ()
    latency_ms: float = 0.0
    workshop_id: int | None = None
    written: dict | None = None


def add_answer(session: Session, entry: AnswerEntry, reference: str) -> AnswerRecord:
    """Adds the answer-log row inside the caller's transaction."""
    record = AnswerRecord(
        reference=reference,
        surface=entry.surface,
        user_id=entry.user_id,
        channel_id=entry.channel_id,
        thread_ts=entry.thread_ts,
        question=clip_question(entry.question),
        answer=entry.answer,
        abstained=entry.abstained,
        failed=entry.failed,
        source_doc_ids=list(entry.source_doc_ids),
        latency_ms=entry.latency_ms,
        workshop_id=entry.workshop_id,
        written=entry.written,
    )
    session.add(record)
    return record


class _WriteTurns:
    """One writer at a time per SQLite file in this process, reentrant, and fast-track first:
    a question being stored while Slack waits for its ack goes before background work."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owner: int | None = None
        self._depth = 0
        self._urgent_waiting = 0

    def acquire(self, urgent: bool, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            if urgent:
                self._urgent_waiting += 1
            try:
                if not self._cond.wait_for(
                    lambda: self._owner is None and (urgent or not self._urgent_waiting),
                    timeout,
                ):
                    return False
                self._owner, self._depth = me, 1
                return True
            finally:
                if urgent:
                    self._urgent_waiting -= 1

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()


_SQLITE_TURNS: dict[str, _WriteTurns] = {}
_SQLITE_TURNS_GUARD = threading.Lock()


def _sqlite_turns(engine: Engine) -> _WriteTurns | None:
    if engine.dialect.name != "sqlite":
        return None
    key = str(engine.url.database)
    with _SQLITE_TURNS_GUARD:
        return _SQLITE_TURNS.setdefault(key, _WriteTurns())


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @cached_property
    def _quick_sessions(self) -> sessionmaker[Session]:
        return sessionmaker(quick_engine(self.engine), expire_on_commit=False)

    @contextmanager
    def session(self, quick: bool = False) -> Iterator[Session]:
        """A transaction; `quick` ones give up after ~2 s on a lock or an unreachable server."""
        sessions = self._quick_sessions if quick else self._sessions
        turns = _sqlite_turns(self.engine)
        if turns is None:
            with sessions.begin() as session:
                yield session
            return
        # SQLite lets one transaction write at a time and makes the others poll with sleeps
        # of up to 100 ms; queueing this process's threads first is fair and fast.
        if not turns.acquire(urgent=quick, timeout=QUICK_WAIT_S if quick else WAIT_S):
            raise SQLAlchemyTimeoutError("the database is busy (waited for the write lock)")
        try:
            with sessions.begin() as session:
                yield session
        finally:
            turns.release()

    def ping(self) -> None:
        """Raises when the database does not answer (readiness checks)."""
        with self.session(quick=True) as session:
            session.execute(text("SELECT 1"))

    def record_answer(self, entry: AnswerEntry, reference: str | None = None) -> str:
        reference = reference or new_reference()
        with self.session() as session:
            add_answer(session, entry, reference)
        return reference

    def set_message_ts(self, reference: str, message_ts: str) -> None:
        with self.session() as session:
            record = session.scalar(select(AnswerRecord).where(AnswerRecord.reference == reference))
            if record is not None:
                record.message_ts = message_ts

    def answer(self, reference: str) -> AnswerRecord | None:
        with self.session() as session:
            return session.scalar(select(AnswerRecord).where(AnswerRecord.reference == reference))

    def bot_in_thread(self, channel_id: str, thread_ts: str) -> bool:
        with self.session() as session:
            found = session.scalar(
                select(AnswerRecord.id)
                .where(AnswerRecord.channel_id == channel_id, AnswerRecord.thread_ts == thread_ts)
                .limit(1)
            )
        return found is not None

    def thread_questions(self, channel_id: str, thread_ts: str, limit: int = 3) -> list[str]:
        """Earlier questions of a thread, oldest first: context for a follow-up."""
        with self.session() as session:
            rows = session.scalars(
                select(AnswerRecord.question)
                .where(AnswerRecord.channel_id == channel_id, AnswerRecord.thread_ts == thread_ts)
                .order_by(AnswerRecord.id.desc())
                .limit(limit)
            ).all()
        return list(reversed(rows))

    def thread_turns(
        self, channel_id: str, thread_ts: str, limit: int = 3
    ) -> list[tuple[str, str]]:
        """Earlier (question, answer) pairs of a thread, oldest first: for rewriting a
        follow-up into a question of its own."""
        with self.session() as session:
            rows = session.execute(
                select(AnswerRecord.question, AnswerRecord.answer)
                .where(AnswerRecord.channel_id == channel_id, AnswerRecord.thread_ts == thread_ts)
                .order_by(AnswerRecord.id.desc())
                .limit(limit)
            ).all()
        return [(question, answer or "") for question, answer in reversed(rows)]

    def record_feedback(self, reference: str | None, user_id: str, value: str) -> bool:
        with self.session() as session:
            answer_id = None
            if reference:
                answer_id = session.scalar(
                    select(AnswerRecord.id).where(AnswerRecord.reference == reference)
                )
            session.add(FeedbackRecord(answer_id=answer_id, user_id=user_id, value=value))
        return answer_id is not None

    def feedback_for(self, reference: str) -> list[FeedbackRecord]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(FeedbackRecord)
                    .join(AnswerRecord, FeedbackRecord.answer_id == AnswerRecord.id)
                    .where(AnswerRecord.reference == reference)
                    .order_by(FeedbackRecord.id)
                )
            )
