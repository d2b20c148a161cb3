"""The outbox: every Slack message we owe someone, delivered once, retried until it lands.

A row is written in the same transaction as the change it reports (an answer, a new request),
then claimed with a lease by whoever delivers it: the process that wrote it, a background sweep,
another replica, or `coe requests repost`. Marking a row sent or failed is conditional on still
holding the lease, so a late result from a process that lost its lease changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db.models import OutboxMessage
from bot.db.store import Store, rows_affected
from bot.work.leases import aware, lease_lapsed, process_owner, utcnow

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
LEASE_S = 45.0  # longer than one Slack call can take (30 s client timeout) plus margin
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 300.0


@dataclass(frozen=True)
class OutboxItem:
    key: str
    kind: str
    channel_id: str | None = None
    thread_ts: str | None = None
    user_id: str | None = None
    subject_id: int | None = None
    reference: str | None = None
    payload: dict = field(default_factory=dict)
    max_attempts: int | None = None  # None: keep trying (a triage card must never be lost)
    uncertain: bool = False  # set when an earlier attempt at the same reply may have posted


@dataclass(frozen=True)
class Delivery:
    """A claimed row: the caller holds its lease until it reports sent, retry or failed."""

    id: int
    key: str
    kind: str
    channel_id: str | None
    thread_ts: str | None
    user_id: str | None
    subject_id: int | None
    reference: str | None
    payload: dict
    attempts: int
    max_attempts: int | None
    uncertain: bool  # an earlier try may have reached Slack: look before posting again
    created_at: datetime

    @property
    def last_attempt(self) -> bool:
        return self.max_attempts is not None and self.attempts >= self.max_attempts


def backoff_s(attempts: int, base_s: float = BACKOFF_BASE_S) -> float:
    """5 s, 10 s, 20 s … capped at 5 minutes, with jitter so replicas do not march in step."""
    delay = min(base_s * 2 ** max(0, attempts - 1), BACKOFF_CAP_S)
    return delay * random.uniform(0.8, 1.2)


class Outbox:
    def __init__(self, store: Store, owner: str | None = None, lease_s: float = LEASE_S) -> None:
        self.store = store
        self.owner = owner or process_owner()
        self.lease_s = lease_s

    # -- writing ---------------------------------------------------------------------------

    @staticmethod
    def add(session: Session, item: OutboxItem) -> OutboxMessage:
        """Queues a message inside the caller's transaction (commits or rolls back with it)."""
        row = OutboxMessage(
            key=item.key[:200],
            kind=item.kind,
            channel_id=item.channel_id,
            thread_ts=item.thread_ts,
            user_id=item.user_id,
            subject_id=item.subject_id,
            reference=item.reference,
            payload=item.payload,
            state=PENDING,
            attempts=0,
            max_attempts=item.max_attempts,
            next_attempt_at=utcnow(),
            uncertain=item.uncertain,
        )
        session.add(row)
        return row

    def enqueue(self, item: OutboxItem) -> int | None:
        """Queues a message on its own; None when one with that key was queued before."""
        try:
            with self.store.session() as session:
                row = self.add(session, item)
                session.flush()
                return row.id
        except IntegrityError:
            return None

    # -- claiming --------------------------------------------------------------------------

    def due(self, kinds: tuple[str, ...] | None = None, limit: int = 100) -> list[int]:
        """Rows ready for a try: pending and due, or leased by a holder that is gone."""
        now = utcnow()
        query = (
            select(
                OutboxMessage.id,
                OutboxMessage.state,
                OutboxMessage.lease_owner,
                OutboxMessage.lease_until,
            )
            .where(
                or_(
                    and_(OutboxMessage.state == PENDING, OutboxMessage.next_attempt_at <= now),
                    OutboxMessage.state == SENDING,
                )
            )
            .order_by(OutboxMessage.id)
            .limit(limit * 4)
        )
        if kinds:
            query = query.where(OutboxMessage.kind.in_(kinds))
        with self.store.session() as session:
            rows = session.execute(query).all()
        ready = [
            r.id
            for r in rows
            if r.state == PENDING or lease_lapsed(r.lease_until, r.lease_owner, now)
        ]
        return ready[:limit]

    def claim(self, outbox_id: int) -> Delivery | None:
        now = utcnow()
        with self.store.session() as session:
            row = session.get(OutboxMessage, outbox_id)
            if row is None or row.state in (SENT, FAILED):
                return None
            taking_over = row.state == SENDING
            if taking_over:
                if not lease_lapsed(row.lease_until, row.lease_owner, now):
                    return None
                condition = and_(
                    OutboxMessage.state == SENDING, OutboxMessage.lease_owner == row.lease_owner
                )
            else:
                if aware(row.next_attempt_at) > now:
                    return None
                condition = OutboxMessage.state == PENDING
            values: dict = {
                "state": SENDING,
                "lease_owner": self.owner,
                "lease_until": now + timedelta(seconds=self.lease_s),
                "attempts": OutboxMessage.attempts + 1,
            }
            if taking_over:
                values["uncertain"] = True  # whoever held it may have posted before dying
            claimed = rows_affected(
                session,
                update(OutboxMessage)
                .where(OutboxMessage.id == outbox_id, condition)
                .values(**values)
                .execution_options(synchronize_session=False),
            )
            if claimed != 1:
                return None
            session.refresh(row)
            return Delivery(
                id=row.id,
                key=row.key,
                kind=row.kind,
                channel_id=row.channel_id,
                thread_ts=row.thread_ts,
                user_id=row.user_id,
                subject_id=row.subject_id,
                reference=row.reference,
                payload=dict(row.payload or {}),
                attempts=row.attempts,
                max_attempts=row.max_attempts,
                uncertain=bool(row.uncertain),
                created_at=aware(row.created_at) or now,
            )

    # -- reporting -------------------------------------------------------------------------

    def _finish(self, outbox_id: int, **values) -> bool:
        with self.store.session() as session:
            return (
                rows_affected(
                    session,
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == outbox_id,
                        OutboxMessage.state == SENDING,
                        OutboxMessage.lease_owner == self.owner,
                    )
                    .values(lease_owner=None, lease_until=None, **values)
                    .execution_options(synchronize_session=False),
                )
                == 1
            )

    def sent(self, outbox_id: int, channel_id: str | None, ts: str | None) -> bool:
        return self._finish(
            outbox_id,
            state=SENT,
            posted_channel_id=channel_id,
            message_ts=ts,
            sent_at=utcnow(),
            error=None,
        )

    def retry(self, outbox_id: int, error: str, uncertain: bool, delay_s: float) -> bool:
        return self._finish(
            outbox_id,
            state=PENDING,
            error=error[:1000],
            uncertain=uncertain,
            next_attempt_at=utcnow() + timedelta(seconds=delay_s),
        )

    def redirect(self, outbox_id: int, channel_id: str, thread_ts: str | None) -> bool:
        """Sends it somewhere else next (e.g. a DM when the bot left the channel), at once."""
        return self._finish(
            outbox_id,
            state=PENDING,
            channel_id=channel_id,
            thread_ts=thread_ts,
            uncertain=False,
            next_attempt_at=utcnow(),
        )

    def failed(self, outbox_id: int, error: str) -> bool:
        return self._finish(outbox_id, state=FAILED, error=error[:1000])

    # -- operating -------------------------------------------------------------------------

    def hurry(self, kinds: tuple[str, ...] | None = None) -> int:
        """Makes waiting rows due now (an operator asked for a repost)."""
        statement = update(OutboxMessage).where(OutboxMessage.state == PENDING)
        if kinds:
            statement = statement.where(OutboxMessage.kind.in_(kinds))
        with self.store.session() as session:
            return rows_affected(
                session,
                statement.values(next_attempt_at=utcnow()).execution_options(
                    synchronize_session=False
                ),
            )

    def get(self, outbox_id: int) -> OutboxMessage | None:
        with self.store.session() as session:
            return session.get(OutboxMessage, outbox_id)

    def by_key(self, key: str) -> OutboxMessage | None:
        with self.store.session() as session:
            return session.scalar(select(OutboxMessage).where(OutboxMessage.key == key[:200]))

    def counts(self) -> dict[str, int]:
        from sqlalchemy import func

        with self.store.session() as session:
            rows = session.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            ).all()
        return {state: count for state, count in rows}
