"""Consultation intake (modal), triage actions for CoE staff, and the App Home."""

from __future__ import annotations

import logging
from typing import TypedDict

from pydantic import ValidationError
from slack_bolt import Ack
from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.consultations.models import (
    IntakeForm,
    Priority,
    RequestContext,
    RequestView,
    Status,
)
from bot.consultations.service import ConsultationService, NotStaffError, RequestNotFoundError
from bot.db.store import new_reference
from bot.slack import blocks, consult_blocks
from bot.slack.private import tell_privately
from bot.slack.registry import Registrar, serving
from bot.slack.triage import TriageNotifier

log = logging.getLogger(__name__)

SHORTCUT_ID = "consult_from_message"
SHORTCUT_NAME = "File a CoE request about this"
REFUSAL = "Only CoE staff can triage requests. Ask the CoE team if you need something changed."
EXPERT_REFUSAL = (
    "That button files a request about someone else's question, so only they can use it. "
    "`/coe consult` files a request of your own."
)


def open_intake(
    client: WebClient,
    trigger_id: str,
    context: RequestContext,
    title: str = "",
    description: str = "",
) -> None:
    client.views_open(
        trigger_id=trigger_id, view=consult_blocks.intake_modal(context, title, description)
    )


def register(
    reg: Registrar,
    service: ConsultationService | None,
    notifier: TriageNotifier | None,
    store,
    runs=None,
) -> None:
    @reg.action(blocks.ASK_EXPERT)
    def ask_expert(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        channel = _channel_of(body)
        record = store.answer(str(action.get("value") or "")[:16])
        # The form is pre-filled with the question and answer: only for the person who asked,
        # in the conversation it was asked in. Anyone else is told how to file their own.
        if record is None or record.user_id != user or (channel and record.channel_id != channel):
            _tell(client, channel, user, EXPERT_REFUSAL)
            return
        context = RequestContext(
            question=record.question,
            answer=record.answer,
            sources=list(record.source_doc_ids or []),
            answer_reference=record.reference,
        )
        open_intake(client, body["trigger_id"], context, title=record.question)

    @reg.message_shortcut(SHORTCUT_ID, SHORTCUT_NAME)
    def from_message(ack: Ack, shortcut: dict, client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id", "")
        permalink = None
        try:
            permalink = client.chat_getPermalink(channel=channel, message_ts=message.get("ts", ""))[
                "permalink"
            ]
        except Exception as error:
            log.info("no permalink for %s/%s: %s", channel, message.get("ts"), error)
        text = message.get("text", "")
        open_intake(
            client,
            shortcut["trigger_id"],
            RequestContext(question=text or None, permalink=permalink),
            description=text,
        )

    @reg.view(consult_blocks.INTAKE_CALLBACK)
    def submitted(ack: Ack, body: dict, view: dict) -> None:
        values = consult_blocks.read_intake(view.get("state", {}))
        try:
            form = IntakeForm.model_validate(values)
        except ValidationError as error:
            ack(response_action="errors", errors=consult_blocks.field_errors(error.errors()))
            return
        try:
            context = RequestContext.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            context = RequestContext()
        # Stored before the ack: if the database cannot take it, the modal stays open with the
        # person's text in it, instead of closing on a request that does not exist.
        try:
            request, created = serving(service).submit(
                form, body["user"]["id"], context, submission_key=f"view:{view['id']}", quick=True
            )
        except SQLAlchemyError as error:
            reference = new_reference()
            log.error("could not store a consultation request, reference %s: %s", reference, error)
            ack(
                response_action="errors",
                errors={"title": consult_blocks.save_failed_text(reference)},
            )
            return
        ack()
        if created:  # a double click or a retried delivery: the first submission already counts
            serving(notifier).deliver_new(request)

    def _request_id(body: dict, action: dict) -> str:
        if str(action.get("value", "")).isdigit():
            return str(action["value"])
        return str(action.get("block_id") or "").split(":")[-1]

    def _triage(body: dict, client: WebClient, change, describe) -> None:
        user = body["user"]["id"]
        channel = _channel_of(body)
        try:
            request = change(user)
        except NotStaffError:
            _tell(client, channel, user, REFUSAL)
            return
        except (RequestNotFoundError, ValueError, KeyError, TypeError):
            _tell(
                client, channel, user, "That request or value does not exist; nothing was changed."
            )
            return
        serving(notifier).refresh(request)
        what, plain = describe(request, user)
        serving(notifier).tell_requester(request, what, plain)

    @reg.action(consult_blocks.ASSIGN_ME)
    def assign_me(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number = _request_id(body, action)
        _triage(
            body,
            client,
            lambda user: serving(service).assign(number, user, user),
            lambda r, user: (
                f"<@{user}> from the CoE has picked it up.",
                "someone from the CoE has picked it up.",
            ),
        )

    @reg.action(consult_blocks.ASSIGN)
    def assign(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number, assignee = _request_id(body, action), action.get("selected_user")

        def assign_to(user: str) -> RequestView:
            if assignee is None:
                raise ValueError("no one was selected")  # _triage says nothing was changed
            return serving(service).assign(number, user, assignee)

        _triage(
            body,
            client,
            assign_to,
            lambda r, user: (
                f"it is now with <@{assignee}> from the CoE.",
                "it has been assigned to someone from the CoE.",
            ),
        )

    @reg.action(consult_blocks.SET_STATUS)
    def set_status(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number = _request_id(body, action)
        _triage(
            body,
            client,
            lambda user: serving(service).set_status(
                number, user, Status(action["selected_option"]["value"])
            ),
            lambda r, user: (
                f"status changed to *{r.status.label}*.",
                f"status changed to {r.status.label}.",
            ),
        )

    @reg.action(consult_blocks.SET_PRIORITY)
    def set_priority(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number = _request_id(body, action)
        _triage(
            body,
            client,
            lambda user: serving(service).set_priority(
                number, user, Priority(action["selected_option"]["value"])
            ),
            lambda r, user: (
                f"priority set to *{r.priority.value if r.priority else '—'}*.",
                f"priority set to {r.priority.value if r.priority else '—'}.",
            ),
        )

    @reg.action(consult_blocks.ADD_NOTE)
    def add_note(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        if not serving(service).is_staff(user):
            _tell(client, _channel_of(body), user, REFUSAL)
            return
        number = _request_id(body, action)
        if not number.isdigit():
            _tell(client, _channel_of(body), user, "That request does not exist.")
            return
        client.views_open(
            trigger_id=body["trigger_id"], view=consult_blocks.note_modal(int(number))
        )

    @reg.view(consult_blocks.NOTE_CALLBACK)
    def note_submitted(ack: Ack, body: dict, view: dict) -> None:
        values = ((view.get("state") or {}).get("values") or {}).get("note") or {}
        text = (values.get("value") or {}).get("value") or ""
        user = body["user"]["id"]
        try:
            request = serving(service).add_note(view.get("private_metadata") or "", user, text)
        except NotStaffError:
            ack(response_action="errors", errors={"note": REFUSAL})
            return
        except (RequestNotFoundError, ValueError) as error:
            ack(response_action="errors", errors={"note": str(error)})
            return
        except SQLAlchemyError as error:
            reference = new_reference()
            log.error("could not store a note, reference %s: %s", reference, error)
            ack(
                response_action="errors",
                errors={"note": consult_blocks.save_failed_text(reference)},
            )
            return
        ack()
        serving(notifier).post_in_card_thread(
            request,
            f"Note from <@{user}>: {consult_blocks.escape(text)}",
            f"Note from a CoE expert: {text}",
        )
        serving(notifier).refresh(request)
        serving(notifier).tell_requester(
            request,
            f"<@{user}> added a note: {consult_blocks.escape(text)}",
            f"a CoE expert added a note: {text}",
        )

    def publish_home(client: WebClient, user: str, active: str = "open") -> None:
        mine = serving(service).list(requester_id=user, limit=20)
        queue = counts = None
        staff_extra = None
        if serving(service).is_staff(user):
            from datetime import date, timedelta

            from bot.enablement.metrics import compute_metrics
            from bot.slack.enablement_blocks import staff_home_blocks

            today = date.today()
            figures = compute_metrics(store, today - timedelta(days=90), today)
            staff_extra = staff_home_blocks(figures, runs.all(limit=12) if runs else [])
            filters: dict[str, _QueueFilter] = {
                "open": {"open_only": True},
                "unassigned": {"unassigned": True},
                "mine": {"assignee_id": user, "open_only": True},
                "overdue": {"overdue": True},
            }
            queue = serving(service).list(limit=100, **filters.get(active, filters["open"]))
            counts = serving(service).counts(user)
        client.views_publish(
            user_id=user, view=consult_blocks.home_view(mine, queue, counts, active, staff_extra)
        )

    @reg.event("app_home_opened")
    def home_opened(event: dict, client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            publish_home(client, event["user"])

    for name in ("open", "unassigned", "mine", "overdue"):

        @reg.action(f"{consult_blocks.HOME_FILTER}_{name}")
        def home_filter(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
            ack()
            publish_home(client, body["user"]["id"], action.get("value", "open"))


class _QueueFilter(TypedDict, total=False):
    """The keyword arguments of ConsultationService.list that an App Home tab passes."""

    open_only: bool
    unassigned: bool
    assignee_id: str
    overdue: bool


def _channel_of(body: dict) -> str:
    return str(
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or ""
    )


def _tell(client: WebClient, channel: str, user: str, text: str) -> None:
    tell_privately(client, user, channel, blocks.refusal_message(text))
