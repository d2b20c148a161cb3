"""Block Kit for owner verification: the owner's reminder, its answers, what staff see."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.blocks import Message
from bot.slack.mrkdwn import escape, link, truncate

STILL_ACCURATE = "review_accurate"
NEEDS_UPDATE = "review_needs_update"
NOT_MINE = "review_not_mine"
UPDATE_NOTE_VIEW = "review_update_note"
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"


def _line(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, 2900)))


def reminder(title: str, link_url: str, review_by: date, today: date, key: str) -> Message:
    """The owner's DM: which document, since when it is due, and three answers."""
    when = (
        f"was due for review on {review_by.isoformat()}"
        if review_by < today
        else f"is due for review on {review_by.isoformat()}"
    )
    blocks: list[Block] = [
        _line(f"You own {link(link_url, title)} in the CoE knowledge base. It {when}."),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Answers quote it as it stands; please check it is still accurate."
                )
            ]
        ),
        ActionsBlock(
            block_id="review",
            elements=[
                ButtonElement(
                    text="Still accurate", action_id=STILL_ACCURATE, value=key, style="primary"
                ),
                ButtonElement(text="Needs an update", action_id=NEEDS_UPDATE, value=key),
                ButtonElement(text="Not mine", action_id=NOT_MINE, value=key),
            ],
        ),
    ]
    return Message(text=f"Please review {title}: it {when}", blocks=blocks)


def verified(title: str, link_url: str, until: date) -> Message:
    return Message(
        text=f"Thank you: {title} is verified until {until.isoformat()}",
        blocks=[
            _line(
                f":white_check_mark: Thank you: {link(link_url, title)} is marked still accurate; "
                f"next review on {until.isoformat()}."
            )
        ],
    )


def answered(title: str, link_url: str, what: str) -> Message:
    """The owner's DM once answered otherwise (`what` is trusted text written here)."""
    return Message(
        text=f"{title}: {what}",
        blocks=[_line(f"{link(link_url, title)}: {what}")],
    )


def update_note_view(key: str, title: str) -> View:
    return View(
        type="modal",
        callback_id=UPDATE_NOTE_VIEW,
        private_metadata=key,
        title=PlainTextObject(text="Needs an update"),
        submit=PlainTextObject(text="Send to CoE staff"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            _line(f"What is out of date in *{escape(truncate(title, 200))}*?"),
            InputBlock(
                block_id=NOTE_BLOCK,
                label=PlainTextObject(text="Note for CoE staff"),
                element=PlainTextInputElement(
                    action_id=NOTE_INPUT, multiline=True, max_length=2000
                ),
            ),
        ],
    )


def staff_notice(title: str, link_url: str, owner_id: str, note: str | None) -> Message:
    """For the triage channel: an owner says the document needs an update, or is not theirs."""
    if note is None:
        text = f"<@{owner_id}> says they do not own {link(link_url, title)}: please reassign it."
        fallback = f"{title}: the named owner says it is not theirs"
    else:
        text = f"<@{owner_id}> says {link(link_url, title)} needs an update:\n>" + escape(
            truncate(note, 2000)
        ).replace("\n", "\n>")
        fallback = f"{title} needs an update"
    return Message(text=fallback, blocks=[_line(text)])
