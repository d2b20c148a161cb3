"""Retention: recorded questions and feedback are kept for a configurable period, then purged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from bot.db.models import AnswerRecord, FeedbackRecord, OutboxMessage, QuestionJob
from bot.db.store import Store, rows_affected


def purge_older_than(store: Store, days: int) -> dict[str, int]:
    cutoff = datetime.now(UTC) - timedelta(days=days)
    with store.session() as session:
        old_answers = select(AnswerRecord.id).where(AnswerRecord.created_at < cutoff)
        feedback = rows_affected(
            session,
            delete(FeedbackRecord).where(
                (FeedbackRecord.created_at < cutoff) | FeedbackRecord.answer_id.in_(old_answers)
            ),
        )
        answers = rows_affected(
            session, delete(AnswerRecord).where(AnswerRecord.created_at < cutoff)
        )
        # Finished deliveries only: anything still owed to someone is kept until it is sent.
        jobs = rows_affected(
            session,
            delete(QuestionJob).where(
                QuestionJob.created_at < cutoff, QuestionJob.state.in_(("posted", "failed"))
            ),
        )
        outbox = rows_affected(
            session,
            delete(OutboxMessage).where(
                OutboxMessage.created_at < cutoff, OutboxMessage.state.in_(("sent", "failed"))
            ),
        )
    return {"answers": answers, "feedback": feedback, "claims": jobs + outbox}
