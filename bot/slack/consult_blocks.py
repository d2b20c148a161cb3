"""Block Kit for consultation requests: the intake modal, the triage card, DMs, App Home."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic_core import ErrorDetails
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.consultations.models import (
    DESCRIPTION_MAX,
    TEAM_MAX,
    TITLE_MAX,
    Priority,
    RequestContext,
    RequestType,
    RequestView,
    Status,
    Urgency,
)
from bot.slack.blocks import Message
from bot.slack.mrkdwn import escape, link, truncate

__all__ = ["escape"]

INTAKE_CALLBACK = "consult_submit"
NOTE_CALLBACK = "triage_note_submit"
ASSIGN_ME = "triage_assign_me"
ASSIGN = "triage_assign"
SET_STATUS = "triage_status"
SET_PRIORITY = "triage_priority"
ADD_NOTE = "triage_note"
HOME_FILTER = "home_filter"
HOME_LIMIT = 100
FIELDS = ("title", "team", "type", "urgency", "description", "links")


def _option(value: str, label: str) -> Option:
    return Option(value=value, label=label)


def intake_modal(
    context: RequestContext, prefill_title: str = "", prefill_description: str = ""
) -> View:
    type_options = [_option(t.value, t.label) for t in RequestType]
    urgency_options = [_option(u.value, u.value.capitalize()) for u in Urgency]
    blocks: list[Block] = []
    if context.question or context.permalink:
        lines = []
        if context.question:
            lines.append(f"*Your question:* {escape(truncate(context.question, 500))}")
        if context.answer:
            lines.append(f"*The assistant answered:* {escape(truncate(context.answer, 800))}")
        if context.sources:
            lines.append("*Sources:* " + ", ".join(escape(s) for s in context.sources[:5]))
        if context.permalink:
            lines.append(f"*From message:* {link(context.permalink, 'open in Slack')}")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), 3000))))
        blocks.append(
            ContextBlock(
                elements=[MarkdownTextObject(text="This context is attached to your request.")]
            )
        )
    blocks += [
        InputBlock(
            block_id="title",
            label="Title",
            element=PlainTextInputElement(
                action_id="value",
                initial_value=truncate(prefill_title, TITLE_MAX) or None,
                max_length=TITLE_MAX,
                placeholder="What do you need help with?",
            ),
        ),
        InputBlock(
            block_id="team",
            label="Your team",
            element=PlainTextInputElement(action_id="value", max_length=TEAM_MAX),
        ),
        InputBlock(
            block_id="type",
            label="Kind of help",
            element=StaticSelectElement(action_id="value", options=type_options),
        ),
        InputBlock(
            block_id="urgency",
            label="Urgency",
            element=StaticSelectElement(
                action_id="value", options=urgency_options, initial_option=urgency_options[1]
            ),
        ),
        InputBlock(
            block_id="description",
            label="Details",
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=DESCRIPTION_MAX,
                initial_value=truncate(prefill_description, DESCRIPTION_MAX) or None,
                placeholder="Context, deadlines, what you have tried",
            ),
        ),
        InputBlock(
            block_id="links",
            label="Links (optional, one per line)",
            optional=True,
            element=PlainTextInputElement(action_id="value", multiline=True),
        ),
    ]
    return View(
        type="modal",
        callback_id=INTAKE_CALLBACK,
        title="Ask a CoE expert",
        submit="Send request",
        close="Cancel",
        private_metadata=json.dumps(context.model_dump(exclude_none=True))[:3000],
        blocks=blocks,
    )


def save_failed_text(reference: str) -> str:
    """Shown on the form when the request could not be stored; the modal keeps the text."""
    return (
        f"Could not save your request just now (reference {reference}). Your text is kept: "
        "please press Send again in a minute."
    )


def read_intake(state: dict) -> dict:
    """The submitted modal's values, keyed by field name."""
    values = state.get("values", {})
    found: dict = {}
    for field in FIELDS:
        element = values.get(field, {}).get("value", {})
        if "selected_option" in element:
            found[field] = (element.get("selected_option") or {}).get("value")
        else:
            found[field] = element.get("value") or ""
    return found


def field_errors(errors: Sequence[ErrorDetails]) -> dict[str, str]:
    """pydantic errors → Slack's `response_action: errors` map, one message per field."""
    messages: dict[str, str] = {}
    for error in errors:
        field = str(error["loc"][0]) if error["loc"] else "description"
        if field not in FIELDS or field in messages:
            continue
        kind = error["type"]
        ctx = error.get("ctx") or {}
        if kind == "string_too_short":
            messages[field] = f"Please write at least {ctx.get('min_length')} characters."
        elif kind == "string_too_long":
            messages[field] = f"Please keep this under {ctx.get('max_length')} characters."
        elif kind == "too_long":
            messages[field] = f"Please give at most {ctx.get('max_length')} links."
        elif kind in ("enum", "missing"):
            messages[field] = "Please choose one."
        else:
            messages[field] = str(error["msg"]).removeprefix("Value error, ")
    return messages


def _status_options() -> list[Option]:
    return [_option(s.value, s.label) for s in Status]


def _facts(request: RequestView) -> str:
    assignee = f"<@{request.assignee_id}>" if request.assignee_id else "_unassigned_"
    lines = [
        f"*{request.public_id}* · {escape(request.type.label)} · urgency *{request.urgency.value}*"
        + (f" · priority *{request.priority.value}*" if request.priority else ""),
        f"Status: *{request.status.label}* · Assignee: {assignee} · From <@{request.requester_id}> ({escape(request.team)})",
    ]
    if request.overdue:
        lines.append(":alarm_clock: *Past the first-response target*")
    return "\n".join(lines)


def triage_message(request: RequestView) -> Message:
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"{request.public_id}: {request.title}", 150)),
        SectionBlock(text=MarkdownTextObject(text=_facts(request))),
        SectionBlock(text=MarkdownTextObject(text=truncate(escape(request.description), 3000))),
    ]
    extra = []
    if request.links:
        extra.append("*Links:* " + " · ".join(link(u, u) for u in request.links))
    if request.context.question:
        extra.append(f"*Asked the assistant:* {escape(truncate(request.context.question, 300))}")
    if request.context.sources:
        extra.append(
            "*Sources it used:* " + ", ".join(escape(s) for s in request.context.sources[:5])
        )
    if request.context.permalink:
        extra.append(f"*From:* {link(request.context.permalink, 'the original message')}")
    if extra:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=truncate("\n".join(extra), 3000))])
        )
    current_status = next(o for o in _status_options() if o.value == request.status.value)
    priority_options = [_option(p.value, p.value) for p in Priority]
    current_priority = next(
        (o for o in priority_options if request.priority and o.value == request.priority.value),
        None,
    )
    blocks.append(
        ActionsBlock(
            block_id=f"triage:{request.id}",
            elements=[
                ButtonElement(
                    text="Assign to me", action_id=ASSIGN_ME, value=str(request.id), style="primary"
                ),
                UserSelectElement(
                    action_id=ASSIGN, placeholder="Assign to…", initial_user=request.assignee_id
                ),
                StaticSelectElement(
                    action_id=SET_STATUS,
                    placeholder="Status",
                    options=_status_options(),
                    initial_option=current_status,
                ),
                StaticSelectElement(
                    action_id=SET_PRIORITY,
                    placeholder="Priority",
                    options=priority_options,
                    initial_option=current_priority,
                ),
                ButtonElement(text="Add a note", action_id=ADD_NOTE, value=str(request.id)),
            ],
        )
    )
    text = f"{request.public_id}: {request.title} ({request.status.label})"
    return Message(text=text, blocks=blocks)


def requester_update(request: RequestView, what: str, plain: str | None = None) -> Message:
    """`what` is mrkdwn built from trusted parts; `plain` says the same in plain words."""
    text = f"Your request {request.public_id} “{request.title}”: {plain or 'there is an update.'}"
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":inbox_tray: Your request *{request.public_id}* "
                f"“{escape(truncate(request.title, 150))}”: {what}"
            )
        ),
        ContextBlock(elements=[MarkdownTextObject(text=f"Status: *{request.status.label}*")]),
    ]
    return Message(text=text, blocks=blocks)


def confirmation(request: RequestView, sla_text: str) -> Message:
    what = f"received. The CoE responds {sla_text}; you will hear from me at every step."
    return requester_update(request, what, what)


def thread_note(text: str, plain: str) -> Message:
    """A line in the card's thread; `text` is mrkdwn from trusted parts and escaped input."""
    return Message(
        text=plain, blocks=[SectionBlock(text=MarkdownTextObject(text=truncate(text, 3000)))]
    )


def note_modal(request_id: int) -> View:
    return View(
        type="modal",
        callback_id=NOTE_CALLBACK,
        title="Add a note",
        submit="Add note",
        private_metadata=str(request_id),
        blocks=[
            InputBlock(
                block_id="note",
                label="Note",
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=3000),
            )
        ],
    )


def sla_reminder(request: RequestView) -> Message:
    text = (
        f"{request.public_id} “{request.title}” has waited past the "
        "first-response target and nobody is assigned. Who can take it?"
    )
    return Message(
        text=text,
        blocks=[SectionBlock(text=MarkdownTextObject(text=f":alarm_clock: {escape(text)}"))],
    )


def _row(request: RequestView) -> SectionBlock:
    assignee = f"<@{request.assignee_id}>" if request.assignee_id else "unassigned"
    overdue = " · :alarm_clock: overdue" if request.overdue else ""
    return SectionBlock(
        text=MarkdownTextObject(
            text=truncate(
                f"*{request.public_id}* {escape(request.title)}\n{request.status.label} · {assignee}{overdue}",
                3000,
            )
        )
    )


def home_view(
    mine: list[RequestView],
    queue: list[RequestView] | None,
    counts: dict | None,
    active: str,
    staff_extra: list[Block] | None = None,
) -> View:
    blocks: list[Block] = [HeaderBlock(text="Your requests to the CoE")]
    if mine:
        blocks += [_row(r) for r in mine[:20]]
    else:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="No requests yet. `/coe consult` files one."))
        )
    if queue is not None and counts is not None:
        blocks += [
            DividerBlock(),
            HeaderBlock(text="CoE queue"),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=(
                            f"*{counts['open']}* open · *{counts['unassigned']}* unassigned · "
                            f"*{counts['overdue']}* overdue · *{counts['mine']}* assigned to you"
                        )
                    )
                ]
            ),
            ActionsBlock(
                block_id="home_filters",
                elements=[
                    ButtonElement(
                        text=label,
                        action_id=f"{HOME_FILTER}_{value}",
                        value=value,
                        style="primary" if value == active else None,
                    )
                    for value, label in (
                        ("open", "All open"),
                        ("unassigned", "Unassigned"),
                        ("mine", "Mine"),
                        ("overdue", "Overdue"),
                    )
                ],
            ),
        ]
        extra = staff_extra or []
        room = HOME_LIMIT - len(blocks) - len(extra) - 1
        shown = queue[:room]
        blocks += [_row(r) for r in shown] or [
            SectionBlock(text=MarkdownTextObject(text="Nothing here."))
        ]
        if len(queue) > len(shown):
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"…and {len(queue) - len(shown)} more: `coe requests list` shows all."
                        )
                    ]
                )
            )
        blocks += extra
    return View(type="home", blocks=blocks[:HOME_LIMIT])
