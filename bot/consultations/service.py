"""The consultation lifecycle. Callers pass who is acting; staff rights are checked here."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.consultations.models import (
    HistoryEntry,
    IntakeForm,
    Priority,
    RequestContext,
    RequestType,
    RequestView,
    Status,
    Urgency,
)
from bot.consultations.sla import add_working_days
from bot.db.models import ConsultationRequest, RequestEvent
from bot.db.store import Store, rows_affected
from bot.work.leases import aware
from bot.work.outbox import Outbox, OutboxItem

NOTE_MAX = 3000
# Outbox kinds for a request's messages; bot.slack.triage renders them when they are sent.
TRIAGE_CARD = "triage_card"
CONFIRMATION = "request_confirmation"
SLA_REMINDER = "sla_reminder"
CONFIRMATION_TRIES = 8


def triage_card_item(number: int) -> OutboxItem:
    # Never given up on: a request nobody in the CoE sees is a lost request.
    return OutboxItem(key=f"triage:{number}", kind=TRIAGE_CARD, subject_id=number)


class NotStaffError(PermissionError):
    """Only CoE staff may triage."""


class RequestNotFoundError(LookupError):
    pass


def parse_reference(reference: str | int) -> int:
    text = str(reference).strip().upper().removeprefix("CR-").removeprefix("CR")
    if not text.isdigit():
        raise RequestNotFoundError(f"“{reference}” is not a request id (they look like CR-0042)")
    return int(text)


class ConsultationService:
    def __init__(
        self,
        store: Store,
        is_staff: Callable[[str], bool],
        sla_working_days: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.is_staff = is_staff
        self.sla_working_days = sla_working_days
        self.clock = clock

    # -- reading ---------------------------------------------------------------------------

    def due_at(self, created_at: datetime) -> datetime:
        return add_working_days(aware(created_at), self.sla_working_days)

    def _view(
        self, row: ConsultationRequest, history: list[RequestEvent] | None = None
    ) -> RequestView:
        now = self.clock()
        created = aware(row.created_at)
        overdue = (
            row.first_response_at is None
            and not Status(row.status).closed
            and self.due_at(created) < now
        )
        return RequestView(
            id=row.id,
            public_id=row.public_id,
            requester_id=row.requester_id,
            team=row.team,
            type=RequestType(row.type),
            urgency=Urgency(row.urgency),
            priority=Priority(row.priority) if row.priority else None,
            title=row.title,
            description=row.description,
            links=list(row.links or []),
            context=RequestContext.model_validate(row.context or {}),
            status=Status(row.status),
            assignee_id=row.assignee_id,
            created_at=created,
            updated_at=aware(row.updated_at),
            first_response_at=aware(row.first_response_at),
            resolved_at=aware(row.resolved_at),
            posted=row.posted,
            post_error=row.post_error,
            triage_channel_id=row.triage_channel_id,
            triage_ts=row.triage_ts,
            overdue=overdue,
            history=[
                HistoryEntry(
                    actor_id=e.actor_id, kind=e.kind, detail=e.detail or {}, at=aware(e.at)
                )
                for e in history or []
            ],
        )

    def get(self, reference: str | int, with_history: bool = True) -> RequestView:
        number = parse_reference(reference)
        with self.store.session() as session:
            row = session.get(ConsultationRequest, number)
            if row is None:
                raise RequestNotFoundError(f"no request CR-{number:04d}")
            history = None
            if with_history:
                history = list(
                    session.scalars(
                        select(RequestEvent)
                        .where(RequestEvent.request_id == number)
                        .order_by(RequestEvent.id)
                    )
                )
            return self._view(row, history)

    def list(
        self,
        *,
        requester_id: str | None = None,
        assignee_id: str | None = None,
        unassigned: bool = False,
        overdue: bool = False,
        status: Status | None = None,
        open_only: bool = False,
        limit: int = 200,
    ) -> list[RequestView]:
        query = select(ConsultationRequest).order_by(ConsultationRequest.id.desc())
        if requester_id:
            query = query.where(ConsultationRequest.requester_id == requester_id)
        if assignee_id:
            query = query.where(ConsultationRequest.assignee_id == assignee_id)
        if unassigned:
            query = query.where(ConsultationRequest.assignee_id.is_(None))
        if status:
            query = query.where(ConsultationRequest.status == status.value)
        if open_only or overdue or unassigned:
            query = query.where(
                ConsultationRequest.status.not_in([Status.RESOLVED.value, Status.DECLINED.value])
            )
        with self.store.session() as session:
            views = [
                self._view(row)
                for row in session.scalars(query.limit(limit * 5 if overdue else limit))
            ]
        if overdue:
            views = [v for v in views if v.overdue][:limit]
        return views

    def counts(self, staff_id: str | None = None) -> dict[str, int]:
        open_views = self.list(open_only=True, limit=10_000)
        return {
            "open": len(open_views),
            "unassigned": sum(1 for v in open_views if v.assignee_id is None),
            "overdue": sum(1 for v in open_views if v.overdue),
            "mine": sum(1 for v in open_views if staff_id and v.assignee_id == staff_id),
        }

    # -- intake ----------------------------------------------------------------------------

    def submit(
        self,
        form: IntakeForm,
        requester_id: str,
        context: RequestContext | None = None,
        submission_key: str | None = None,
        quick: bool = False,
    ) -> tuple[RequestView, bool]:
        """Stores the request with its triage card and confirmation queued in the outbox, in
        one transaction. A repeated submission (same key: a double click, or a retried
        delivery) returns the first one, unchanged. `quick` fails fast (Slack is waiting)."""
        now = self.clock()
        key = submission_key or f"{requester_id}:{now.isoformat()}"
        try:
            with self.store.session(quick=quick) as session:
                row = ConsultationRequest(
                    submission_key=key[:120],
                    requester_id=requester_id,
                    team=form.team,
                    type=form.type.value,
                    urgency=form.urgency.value,
                    title=form.title,
                    description=form.description,
                    links=form.links,
                    context=(context or RequestContext()).model_dump(),
                    status=Status.NEW.value,
                    created_at=now,
                    updated_at=now,
                    posted=False,
                )
                session.add(row)
                session.flush()
                session.add(
                    RequestEvent(
                        request_id=row.id,
                        actor_id=requester_id,
                        kind="created",
                        detail={"title": form.title},
                        at=now,
                    )
                )
                Outbox.add(session, triage_card_item(row.id))
                Outbox.add(
                    session,
                    OutboxItem(
                        key=f"confirm:{row.id}",
                        kind=CONFIRMATION,
                        subject_id=row.id,
                        channel_id=requester_id,
                        max_attempts=CONFIRMATION_TRIES,
                    ),
                )
                number = row.id
        except IntegrityError:
            with self.store.session(quick=quick) as session:
                existing = session.scalar(
                    select(ConsultationRequest).where(
                        ConsultationRequest.submission_key == key[:120]
                    )
                )
                if existing is None:
                    raise  # not a repeated submission: some other constraint failed
                return self._view(existing), False
        return self.get(number), True

    # -- triage ----------------------------------------------------------------------------

    def _change(
        self,
        reference: str | int,
        actor_id: str,
        apply: Callable[[Session, ConsultationRequest], dict | None],
    ) -> RequestView:
        if not self.is_staff(actor_id):
            raise NotStaffError("only CoE staff can triage requests")
        number = parse_reference(reference)
        now = self.clock()
        with self.store.session() as session:
            # Row lock on PostgreSQL; SQLite transactions already start with the write lock.
            row = session.scalar(
                select(ConsultationRequest)
                .where(ConsultationRequest.id == number)
                .with_for_update()
            )
            if row is None:
                raise RequestNotFoundError(f"no request CR-{number:04d}")
            event = apply(session, row)
            if event is not None:
                kind, detail = event["kind"], event["detail"]
                session.add(
                    RequestEvent(
                        request_id=row.id, actor_id=actor_id, kind=kind, detail=detail, at=now
                    )
                )
                row.updated_at = now
                if row.first_response_at is None:
                    row.first_response_at = now
        return self.get(number)

    def assign(self, reference: str | int, actor_id: str, assignee_id: str) -> RequestView:
        def apply(_session, row):
            if row.assignee_id == assignee_id:
                return None
            previous, row.assignee_id = row.assignee_id, assignee_id
            if row.status == Status.NEW.value:
                row.status = Status.TRIAGED.value
            return {"kind": "assigned", "detail": {"from": previous, "to": assignee_id}}

        return self._change(reference, actor_id, apply)

    def set_status(self, reference: str | int, actor_id: str, status: Status) -> RequestView:
        def apply(_session, row):
            if row.status == status.value:
                return None
            previous, row.status = row.status, status.value
            row.resolved_at = self.clock() if status.closed else None
            return {"kind": "status", "detail": {"from": previous, "to": status.value}}

        return self._change(reference, actor_id, apply)

    def set_priority(self, reference: str | int, actor_id: str, priority: Priority) -> RequestView:
        def apply(_session, row):
            if row.priority == priority.value:
                return None
            previous, row.priority = row.priority, priority.value
            return {"kind": "priority", "detail": {"from": previous, "to": priority.value}}

        return self._change(reference, actor_id, apply)

    def add_note(self, reference: str | int, actor_id: str, text: str) -> RequestView:
        text = text.strip()
        if not text:
            raise ValueError("the note is empty")
        if len(text) > NOTE_MAX:
            raise ValueError(f"a note can be at most {NOTE_MAX} characters")

        def apply(_session, _row):
            return {"kind": "note", "detail": {"text": text}}

        return self._change(reference, actor_id, apply)

    # -- delivery to Slack -----------------------------------------------------------------

    def mark_posted(self, number: int, channel_id: str, ts: str) -> None:
        with self.store.session() as session:
            row = session.get(ConsultationRequest, number)
            if row is None:
                raise RequestNotFoundError(f"no request CR-{number:04d}")
            row.posted, row.post_error = True, None
            row.triage_channel_id, row.triage_ts = channel_id, ts

    def mark_post_failed(self, number: int, error: str) -> None:
        with self.store.session() as session:
            row = session.get(ConsultationRequest, number)
            if row is None:
                raise RequestNotFoundError(f"no request CR-{number:04d}")
            row.posted, row.post_error = False, error[:500]

    # `builtins.list` below: inside this class, `list` is the method above.
    def unposted(self) -> builtins.list[RequestView]:
        with self.store.session() as session:
            rows = session.scalars(
                select(ConsultationRequest)
                .where(ConsultationRequest.posted.is_(False))
                .order_by(ConsultationRequest.id)
            )
            return [self._view(r) for r in rows]

    def claim_sla_reminders(self) -> builtins.list[RequestView]:
        """Overdue, unassigned requests not reminded yet; each is claimed once, ever, even
        with several replicas asking at once (a conditional UPDATE), and its reminder queued
        in the outbox in the same transaction."""
        now = self.clock()
        due = [v for v in self.list(unassigned=True, overdue=True, limit=500) if v.posted]
        claimed: builtins.list[RequestView] = []
        for view in due:
            with self.store.session() as session:
                # A declarative class's __table__ is always a Table; it is typed as FromClause.
                table = cast(Table, ConsultationRequest.__table__)
                reminded = rows_affected(
                    session,
                    table.update()
                    .where(
                        ConsultationRequest.id == view.id,
                        ConsultationRequest.sla_reminded_at.is_(None),
                    )
                    .values(sla_reminded_at=now),
                )
                if reminded == 1:
                    session.add(
                        RequestEvent(
                            request_id=view.id,
                            actor_id="coe-assistant",
                            kind="reminder",
                            detail={"due": self.due_at(view.created_at).isoformat()},
                            at=now,
                        )
                    )
                    # Queued with the claim: a crash now still sends exactly one reminder.
                    Outbox.add(
                        session,
                        OutboxItem(key=f"sla:{view.id}", kind=SLA_REMINDER, subject_id=view.id),
                    )
                    claimed.append(view)
        return claimed

    def total(self) -> int:
        with self.store.session() as session:
            return session.scalar(select(func.count(ConsultationRequest.id))) or 0
