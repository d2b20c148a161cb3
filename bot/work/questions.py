"""Question jobs: a question is stored before Slack is acknowledged, then answered exactly once.

    received → answering (leased) → answered (reply queued in the outbox) → posted | failed

`finish` records the answer and queues its reply in one transaction, so a job is either still
to be answered (and safe to answer again) or has exactly one reply waiting in the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Insert, and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import AnswerRecord, QuestionJob
from bot.db.store import (
    AnswerEntry,
    Store,
    add_answer,
    clip_question,
    new_reference,
    rows_affected,
)
from bot.work.leases import lease_lapsed, process_owner, utcnow
from bot.work.outbox import Outbox, OutboxItem

RECEIVED, ANSWERING, ANSWERED, POSTED, FAILED = (
    "received",
    "answering",
    "answered",
    "posted",
    "failed",
)
LEASE_S = 30.0  # answering takes well under a second; the reply's lease lives in the outbox
ORPHAN_AFTER_S = 15.0  # a received job nobody claimed this long is taken by any sweep


@dataclass(frozen=True)
class Ticket:
    """What we need to answer a question later, possibly in another process."""

    key: str  # msg:<channel>:<ts>, shortcut:<trigger>, command:<trigger>
    surface: str
    user_id: str
    channel_id: str
    thread_ts: str | None
    question: str
    response_url: str | None = None


@dataclass(frozen=True)
class Job:
    id: int
    reference: str
    key: str
    surface: str
    user_id: str
    channel_id: str
    thread_ts: str | None
    question: str
    response_url: str | None
    state: str
    attempts: int
    stream_ts: str | None = None  # a streamed answer an earlier try started

    @property
    def open(self) -> bool:
        return self.state in (RECEIVED, ANSWERING)


def _job(row: QuestionJob) -> Job:
    return Job(
        id=row.id,
        reference=row.reference,
        key=row.key,
        surface=row.surface,
        user_id=row.user_id,
        channel_id=row.channel_id,
        thread_ts=row.thread_ts,
        question=row.question,
        response_url=row.response_url,
        state=row.state,
        attempts=row.attempts,
        stream_ts=row.stream_ts,
    )


def _insert_new(session, rows: list[dict]) -> Insert:
    """INSERT … ON CONFLICT (key) DO NOTHING, in the database's own dialect."""
    # Two names: each dialect's insert builds its own Insert class, with its own ON CONFLICT.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return (
            postgresql_insert(QuestionJob)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["key"])
        )
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(QuestionJob).values(rows).on_conflict_do_nothing(index_elements=["key"])


def reply_key(reference: str) -> str:
    return f"answer:{reference}"


class QuestionJobs:
    def __init__(self, store: Store, owner: str | None = None, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.owner = owner or process_owner()
        self.lease_s = lease_s

    def receive(self, ticket: Ticket) -> tuple[Job, bool]:
        """Stores a question (fast: Slack is waiting); a repeat delivery returns the first."""
        now = utcnow()
        try:
            with self.store.session(quick=True) as session:
                row = QuestionJob(
                    key=ticket.key[:200],
                    reference=new_reference(),
                    surface=ticket.surface,
                    user_id=ticket.user_id,
                    channel_id=ticket.channel_id,
                    thread_ts=ticket.thread_ts,
                    question=clip_question(ticket.question),
                    response_url=ticket.response_url,
                    state=RECEIVED,
                    # The receiver answers it next; if the receiver dies first, anyone may.
                    lease_owner=self.owner,
                    lease_until=now + timedelta(seconds=ORPHAN_AFTER_S),
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                return _job(row), True
        except IntegrityError:
            with self.store.session(quick=True) as session:
                existing = session.scalar(
                    select(QuestionJob).where(QuestionJob.key == ticket.key[:200])
                )
                if existing is None:
                    raise
                return _job(existing), False

    def receive_many(self, tickets: list[Ticket]) -> list[tuple[Job, bool]]:
        """Stores several questions in one transaction (a burst of events); a ticket whose key
        is already stored returns the first job, as `receive` does."""
        now = utcnow()
        fresh = {t.key[:200]: new_reference() for t in tickets}
        rows = [
            {
                "key": key,
                "reference": fresh[key],
                "surface": t.surface,
                "user_id": t.user_id,
                "channel_id": t.channel_id,
                "thread_ts": t.thread_ts,
                "question": clip_question(t.question),
                "response_url": t.response_url,
                "state": RECEIVED,
                "lease_owner": self.owner,
                "lease_until": now + timedelta(seconds=ORPHAN_AFTER_S),
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for key, t in {t.key[:200]: t for t in tickets}.items()
        ]
        with self.store.session(quick=True) as session:
            session.execute(_insert_new(session, rows))
            found = {
                row.key: row
                for row in session.scalars(
                    select(QuestionJob).where(QuestionJob.key.in_(list(fresh)))
                )
            }
            return [
                (_job(found[t.key[:200]]), found[t.key[:200]].reference == fresh[t.key[:200]])
                for t in tickets
            ]

    def get(self, job_id: int) -> Job | None:
        with self.store.session() as session:
            row = session.get(QuestionJob, job_id)
            return _job(row) if row else None

    def by_reference(self, reference: str) -> Job | None:
        with self.store.session() as session:
            row = session.scalar(select(QuestionJob).where(QuestionJob.reference == reference))
            return _job(row) if row else None

    def claim(self, job_id: int) -> Job | None:
        """Takes a job to answer: a fresh one, or one whose holder's lease ran out."""
        now = utcnow()
        with self.store.session() as session:
            row = session.get(QuestionJob, job_id)
            if row is None or row.state not in (RECEIVED, ANSWERING):
                return None
            if row.state == ANSWERING:
                if not lease_lapsed(row.lease_until, row.lease_owner, now):
                    return None
                condition = and_(
                    QuestionJob.state == ANSWERING, QuestionJob.lease_owner == row.lease_owner
                )
            else:
                condition = QuestionJob.state == RECEIVED
            claimed = rows_affected(
                session,
                update(QuestionJob)
                .where(QuestionJob.id == job_id, condition)
                .values(
                    state=ANSWERING,
                    lease_owner=self.owner,
                    lease_until=now + timedelta(seconds=self.lease_s),
                    attempts=QuestionJob.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False),
            )
            if claimed != 1:
                return None
            session.refresh(row)
            return _job(row)

    def streaming(self, job: Job, ts: str | None) -> None:
        """Records (or clears) the message this try streams its answer into."""
        with self.store.session() as session:
            session.execute(
                update(QuestionJob)
                .where(QuestionJob.id == job.id)
                .values(stream_ts=ts)
                .execution_options(synchronize_session=False)
            )

    def finish(self, job: Job, entry: AnswerEntry | None, reply: OutboxItem) -> int | None:
        """Logs the answer and queues its reply atomically; None if the lease was lost."""
        now = utcnow()
        with self.store.session() as session:
            moved = rows_affected(
                session,
                update(QuestionJob)
                .where(
                    QuestionJob.id == job.id,
                    QuestionJob.state == ANSWERING,
                    QuestionJob.lease_owner == self.owner,
                )
                .values(state=ANSWERED, lease_owner=None, lease_until=None, updated_at=now)
                .execution_options(synchronize_session=False),
            )
            if moved != 1:
                return None
            if entry is not None:
                known = session.scalar(
                    select(AnswerRecord.id).where(AnswerRecord.reference == job.reference)
                )
                if known is None:
                    add_answer(session, entry, job.reference)
            row = Outbox.add(session, reply)
            session.flush()
            return row.id

    def hand_back(self) -> int:
        """On shutdown: jobs this process received but did not start become due for anyone."""
        with self.store.session() as session:
            return rows_affected(
                session,
                update(QuestionJob)
                .where(QuestionJob.state == RECEIVED, QuestionJob.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False),
            )

    def release(self, job: Job, error: str) -> None:
        """Gives a claimed job back (answering failed for a passing reason): due again soon."""
        with self.store.session() as session:
            session.execute(
                update(QuestionJob)
                .where(QuestionJob.id == job.id, QuestionJob.lease_owner == self.owner)
                .values(state=RECEIVED, lease_owner=None, lease_until=None, error=error[:1000])
                .execution_options(synchronize_session=False)
            )

    def _set_state(self, reference: str, state: str, error: str | None = None) -> None:
        with self.store.session() as session:
            session.execute(
                update(QuestionJob)
                .where(QuestionJob.reference == reference)
                .values(state=state, error=error, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    def posted(self, reference: str, message_ts: str | None) -> None:
        with self.store.session() as session:
            session.execute(
                update(QuestionJob)
                .where(QuestionJob.reference == reference)
                .values(state=POSTED, error=None, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if message_ts:
                session.execute(
                    update(AnswerRecord)
                    .where(AnswerRecord.reference == reference)
                    .values(message_ts=message_ts)
                    .execution_options(synchronize_session=False)
                )

    def failed(self, reference: str, error: str) -> None:
        self._set_state(reference, FAILED, error[:1000])

    def due(self, limit: int = 100) -> list[int]:
        """Jobs nobody is answering: orphaned on receipt, or leased by a holder that is gone."""
        now = utcnow()
        with self.store.session() as session:
            rows = session.execute(
                select(
                    QuestionJob.id,
                    QuestionJob.state,
                    QuestionJob.lease_owner,
                    QuestionJob.lease_until,
                )
                .where(
                    or_(
                        QuestionJob.state == RECEIVED,
                        QuestionJob.state == ANSWERING,
                    )
                )
                .order_by(QuestionJob.id)
                .limit(limit * 4)
            ).all()
        ready = [row.id for row in rows if lease_lapsed(row.lease_until, row.lease_owner, now)]
        return ready[:limit]

    def pending_count(self) -> int:
        from sqlalchemy import func

        with self.store.session() as session:
            return (
                session.scalar(
                    select(func.count(QuestionJob.id)).where(
                        QuestionJob.state.in_((RECEIVED, ANSWERING, ANSWERED))
                    )
                )
                or 0
            )
