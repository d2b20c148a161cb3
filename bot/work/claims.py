"""Named claims: one holder at a time for a job, across every replica and machine.

A claim is a row in `job_claims` taken by compare-and-set on its owner, so two processes
that both see it free cannot both win. A holder that dies stops renewing and its lease runs
out (at once, if it ran on this host: see leases.holder_is_gone).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.db.models import JobClaim
from bot.db.store import Store, rows_affected
from bot.work.leases import aware, holder_is_gone, lease_lapsed, process_owner, utcnow


class JobClaims:
    def __init__(self, store: Store, owner: str | None = None) -> None:
        self.store = store
        self.owner = owner or process_owner()

    def _row(self, name: str) -> JobClaim:
        with self.store.session() as session:
            row = session.get(JobClaim, name)
            if row is not None:
                return row
        try:
            with self.store.session() as session:
                session.add(JobClaim(name=name))
        except IntegrityError:
            pass  # another process added it first
        with self.store.session() as session:
            row = session.get(JobClaim, name)
            assert row is not None
            return row

    def _take(self, row: JobClaim, lease_s: float, next_run_at: datetime | None) -> bool:
        now = utcnow()
        if row.owner != self.owner and not lease_lapsed(row.lease_until, row.owner, now):
            return False
        values: dict[str, object] = {
            "owner": self.owner,
            "lease_until": now + timedelta(seconds=lease_s),
        }
        # Compare-and-set on what was read, re-checked in the UPDATE itself: the owner, and
        # also that the lease is still lapsed (its holder may have renewed meanwhile) and that
        # a periodic job is still due (another replica may have run it and let go since: the
        # owner alone would read "free" again).
        conditions = [
            JobClaim.name == row.name,
            JobClaim.owner.is_(None) if row.owner is None else JobClaim.owner == row.owner,
        ]
        if row.owner not in (None, self.owner) and not holder_is_gone(row.owner):
            conditions.append(or_(JobClaim.lease_until.is_(None), JobClaim.lease_until <= now))
        if next_run_at is not None:
            values["next_run_at"] = next_run_at
            conditions.append(or_(JobClaim.next_run_at.is_(None), JobClaim.next_run_at <= now))
        with self.store.session() as session:
            taken = rows_affected(session, update(JobClaim).where(*conditions).values(**values))
        return taken == 1

    def take(self, name: str, lease_s: float) -> bool:
        """Takes the claim if nobody live holds it; True if this process holds it now."""
        return self._take(self._row(name), lease_s, None)

    def renew(self, name: str, lease_s: float) -> bool:
        """Extends a claim this process holds; False if it was lost meanwhile."""
        with self.store.session() as session:
            return (
                rows_affected(
                    session,
                    update(JobClaim)
                    .where(JobClaim.name == name, JobClaim.owner == self.owner)
                    .values(lease_until=utcnow() + timedelta(seconds=lease_s)),
                )
                == 1
            )

    def release(self, name: str) -> None:
        with self.store.session() as session:
            session.execute(
                update(JobClaim)
                .where(JobClaim.name == name, JobClaim.owner == self.owner)
                .values(owner=None, lease_until=None, last_run_at=utcnow())
            )

    def holder(self, name: str) -> str | None:
        """Who holds the claim now, if its lease still runs."""
        with self.store.session() as session:
            row = session.execute(
                select(JobClaim).where(JobClaim.name == name)
            ).scalar_one_or_none()
        if row is None or lease_lapsed(row.lease_until, row.owner, utcnow()):
            return None
        return row.owner

    def run_if_due(
        self, name: str, every_s: float, job: Callable[[], object], lease_s: float = 600.0
    ) -> bool:
        """Runs a periodic job here if it is due and nobody else is running it.

        The next run is booked before the job starts, so a job that crashes is tried again
        one period later, not in a tight loop on every replica.
        """
        row = self._row(name)
        now = utcnow()
        due = aware(row.next_run_at)
        if due is not None and due > now:
            return False
        if not self._take(row, lease_s, now + timedelta(seconds=every_s)):
            return False
        try:
            job()
        finally:
            self.release(name)
        return True
