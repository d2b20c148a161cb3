"""Consultation intake (modal), triage actions for CoE staff, and the App Home."""

from __future__ import annotations

import json
import logging

from pydantic import ValidationError
from slack_bolt import Ack
from slack_sdk import WebClient

from bot.consultations.models import IntakeForm, Priority, RequestContext, Status
from bot.consultations.service import ConsultationService, NotStaffError
from bot.slack import blocks, consult_blocks
from bot.slack.registry import Registrar
from bot.slack.triage import TriageNotifier

log = logging.getLogger(__name__)

SHORTCUT_ID = "consult_from_message"
SHORTCUT_NAME = "File a CoE request about this"
REFUSAL = "Only CoE staff can triage requests. Ask in #ai-coe-help if you need something changed."


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
    reg: Registrar, service: ConsultationService, notifier: TriageNotifier, store, runs=None
) -> None:
    @reg.action(blocks.ASK_EXPERT)
    def ask_expert(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        record = store.answer(action.get("value") or "")
        context = RequestContext()
        if record is not None:
            context = RequestContext(
                question=record.question,
                answer=record.answer,
                sources=list(record.source_doc_ids or []),
                answer_reference=record.reference,
            )
        open_intake(client, body["trigger_id"], context, title=record.question if record else "")

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
        ack()
        try:
            context = RequestContext.model_validate_json(view.get("private_metadata") or "{}")
        except ValidationError:
            context = RequestContext()
        request, created = service.submit(
            form, body["user"]["id"], context, submission_key=f"view:{view['id']}"
        )
        if not created:
            return  # a double click or a retried delivery: the first submission already counts
        notifier.post(request)
        notifier.confirm(request)

    def _request_id(body: dict, action: dict) -> str:
        if action.get("value", "").isdigit():
            return action["value"]
        return (action.get("block_id") or "").split(":")[-1]

    def _triage(body: dict, client: WebClient, change, describe) -> None:
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get(
            "channel_id"
        )
        try:
            request = change(user)
        except NotStaffError:
            client.chat_postEphemeral(channel=channel, user=user, text=REFUSAL)
            return
        notifier.refresh(request)
        notifier.tell_requester(request, describe(request, user))

    @reg.action(consult_blocks.ASSIGN_ME)
    def assign_me(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number = _request_id(body, action)
        _triage(
            body,
            client,
            lambda user: service.assign(number, user, user),
            lambda r, user: f"<@{user}> from the CoE has picked it up.",
        )

    @reg.action(consult_blocks.ASSIGN)
    def assign(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number, assignee = _request_id(body, action), action.get("selected_user")
        _triage(
            body,
            client,
            lambda user: service.assign(number, user, assignee),
            lambda r, user: f"it is now with <@{assignee}> from the CoE.",
        )

    @reg.action(consult_blocks.SET_STATUS)
    def set_status(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number, status = _request_id(body, action), Status(action["selected_option"]["value"])
        _triage(
            body,
            client,
            lambda user: service.set_status(number, user, status),
            lambda r, user: f"status changed to *{status.label}*.",
        )

    @reg.action(consult_blocks.SET_PRIORITY)
    def set_priority(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        number, priority = _request_id(body, action), Priority(action["selected_option"]["value"])
        _triage(
            body,
            client,
            lambda user: service.set_priority(number, user, priority),
            lambda r, user: f"priority set to *{priority.value}*.",
        )

    @reg.action(consult_blocks.ADD_NOTE)
    def add_note(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        if not service.is_staff(user):
            channel = (body.get("channel") or {}).get("id")
            client.chat_postEphemeral(channel=channel, user=user, text=REFUSAL)
            return
        client.views_open(
            trigger_id=body["trigger_id"],
            view=consult_blocks.note_modal(int(_request_id(body, action))),
        )

    @reg.view(consult_blocks.NOTE_CALLBACK)
    def note_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        text = view["state"]["values"]["note"]["value"].get("value") or ""
        user = body["user"]["id"]
        try:
            request = service.add_note(view["private_metadata"], user, text)
        except NotStaffError:
            ack(response_action="errors", errors={"note": REFUSAL})
            return
        except ValueError as error:
            ack(response_action="errors", errors={"note": str(error)})
            return
        ack()
        if request.triage_channel_id and request.triage_ts:
            client.chat_postMessage(
                channel=request.triage_channel_id,
                thread_ts=request.triage_ts,
                text=f"Note from <@{user}>: {consult_blocks.escape(text)}",
            )
        notifier.refresh(request)
        notifier.tell_requester(request, f"<@{user}> added a note: {consult_blocks.escape(text)}")

    def publish_home(client: WebClient, user: str, active: str = "open") -> None:
        mine = service.list(requester_id=user, limit=20)
        queue = counts = None
        staff_extra = None
        if service.is_staff(user):
            from datetime import date, timedelta

            from bot.enablement.metrics import compute_metrics
            from bot.slack.enablement_blocks import staff_home_blocks

            today = date.today()
            figures = compute_metrics(store, today - timedelta(days=90), today)
            staff_extra = staff_home_blocks(figures, runs.all(limit=12) if runs else [])
            filters = {
                "open": {"open_only": True},
                "unassigned": {"unassigned": True},
                "mine": {"assignee_id": user, "open_only": True},
                "overdue": {"overdue": True},
            }
            queue = service.list(limit=100, **filters.get(active, filters["open"]))
            counts = service.counts(user)
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


def decode_metadata(raw: str) -> dict:
    try:
        return json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {}
