"""The consultation lifecycle on SQLite and PostgreSQL: intake, triage, history, SLA, races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.consultations.models import IntakeForm, Priority, RequestContext, RequestType, Status
from bot.consultations.service import ConsultationService, NotStaffError
from bot.consultations.sla import add_working_days
from tests.conftest import fresh_store

STAFF = {"USTAFF", "USTAFF2"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def clock():
    return Clock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture()
def service(database_url, clock):
    return ConsultationService(fresh_store(database_url), STAFF.__contains__, clock=clock)


def _form(**overrides) -> IntakeForm:
    values = {
        "title": "Review our support bot before launch",
        "team": "Payments",
        "type": "launch-readiness",
        "urgency": "high",
        "description": "We launch a customer support assistant on 15 January.",
        "links": "https://docs.example.com/design",
    }
    return IntakeForm.model_validate({**values, **overrides})


def test_submit_stores_the_request_once_per_submission_with_its_context(service):
    context = RequestContext(
        question="Who owns red-teaming?",
        answer="Priya [1]",
        sources=["standards/red-teaming-standard.md"],
    )
    first, created = service.submit(_form(), "U1", context, submission_key="view-1")
    again, created_again = service.submit(
        _form(title="A different title"), "U1", context, submission_key="view-1"
    )
    assert created and not created_again
    assert again.id == first.id and again.title == first.title
    assert first.public_id == f"CR-{first.id:04d}"
    assert first.status is Status.NEW and first.type is RequestType.LAUNCH
    assert first.context.question == "Who owns red-teaming?"
    assert first.links == ["https://docs.example.com/design"]
    assert [h.kind for h in service.get(first.public_id).history] == ["created"]


def test_triage_changes_are_recorded_in_order_with_who_made_them(service, clock):
    request, _ = service.submit(_form(), "U1", submission_key="view-2")
    clock.now += timedelta(hours=2)
    service.assign(request.public_id, "USTAFF", "USTAFF2")
    service.set_priority(request.public_id, "USTAFF2", Priority.P1)
    service.set_status(request.public_id, "USTAFF2", Status.IN_PROGRESS)
    service.add_note(request.public_id, "USTAFF2", "Booked a design review for Thursday.")
    done = service.set_status(request.public_id, "USTAFF2", Status.RESOLVED)
    assert done.assignee_id == "USTAFF2" and done.priority is Priority.P1
    assert done.first_response_at == clock.now and done.resolved_at == clock.now
    assert [(h.kind, h.actor_id) for h in done.history] == [
        ("created", "U1"),
        ("assigned", "USTAFF"),
        ("priority", "USTAFF2"),
        ("status", "USTAFF2"),
        ("note", "USTAFF2"),
        ("status", "USTAFF2"),
    ]
    assert done.history[1].detail == {"from": None, "to": "USTAFF2"}


def test_only_staff_can_triage(service):
    request, _ = service.submit(_form(), "U1", submission_key="view-3")
    with pytest.raises(NotStaffError):
        service.assign(request.public_id, "U1", "U1")
    assert service.get(request.public_id).assignee_id is None


def test_two_staff_assigning_at_once_leave_one_consistent_state(service):
    request, _ = service.submit(_form(), "U1", submission_key="view-4")
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def act(actor: str) -> None:
        barrier.wait()
        try:
            service.assign(request.public_id, actor, actor)
        except Exception as error:  # pragma: no cover - the assertion below reports it
            errors.append(error)

    threads = [threading.Thread(target=act, args=(a,)) for a in ("USTAFF", "USTAFF2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    final = service.get(request.public_id)
    assignments = [h for h in final.history if h.kind == "assigned"]
    assert len(assignments) == 2
    assert final.assignee_id == assignments[-1].detail["to"]
    assert assignments[1].detail["from"] == assignments[0].detail["to"]  # each saw the other


def test_the_sla_reminder_is_claimed_exactly_once(service, clock):
    request, _ = service.submit(_form(), "U1", submission_key="view-5")
    service.mark_posted(request.id, "CTRIAGE", "1.1")
    assert service.claim_sla_reminders() == []
    clock.now += timedelta(days=1, minutes=1)
    assert service.get(request.public_id).overdue
    first = service.claim_sla_reminders()
    assert [v.id for v in first] == [request.id]
    assert service.claim_sla_reminders() == []
    assert service.counts()["overdue"] == 1


def test_field_limits_have_clear_messages():
    with pytest.raises(ValidationError) as error:
        IntakeForm.model_validate(
            {
                "title": "x",
                "team": "T",
                "type": "launch-readiness",
                "description": "short",
                "links": "ftp://nope",
            }
        )
    fields = {e["loc"][0] for e in error.value.errors()}
    assert fields == {"title", "team", "description", "links"}


def test_working_days_skip_the_weekend():
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert add_working_days(friday, 1) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    assert add_working_days(saturday, 1).weekday() == 1  # Tuesday: the clock starts Monday
