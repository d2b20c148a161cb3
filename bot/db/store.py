"""What the Slack app remembers: handled deliveries, answers given, feedback received."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import AnswerRecord, EventClaim, FeedbackRecord

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def claim(self, key: str) -> bool:
        """True the first time a key is seen, in this process or any other sharing the DB."""
        try:
            with self.session() as session:
                session.add(EventClaim(key=key[:200]))
        except IntegrityError:
            return False
        return True

    def record_answer(self, entry: AnswerEntry, reference: str | None = None) -> str:
        reference = reference or new_reference()
        with self.session() as session:
            session.add(
                AnswerRecord(
                    reference=reference,
                    surface=entry.surface,
                    user_id=entry.user_id,
                    channel_id=entry.channel_id,
                    thread_ts=entry.thread_ts,
                    question=entry.question,
                    answer=entry.answer,
                    abstained=entry.abstained,
                    failed=entry.failed,
                    source_doc_ids=list(entry.source_doc_ids),
                    latency_ms=entry.latency_ms,
                    workshop_id=entry.workshop_id,
                )
            )
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
