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

from bot.enablement.reviews import USAGE_DAYS, DocumentState, Usage
from bot.slack.blocks import Message
from bot.slack.mrkdwn import escape, link, truncate

STILL_ACCURATE = "review_accurate"
NEEDS_UPDATE = "review_needs_update"
NOT_MINE = "review_not_mine"
UPDATE_NOTE_VIEW = "review_update_note"
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"


def _line(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, 2900)))


def reminder(
    title: str, link_url: str, review_by: date, today: date, key: str, usage: Usage | None = None
) -> Message:
    """The owner's DM: which document, since when it is due, what it did for people lately,
    and three answers."""
    when = (
        f"was due for review on {review_by.isoformat()}"
        if review_by < today
        else f"is due for review on {review_by.isoformat()}"
    )
    blocks: list[Block] = [
        _line(f"You own {link(link_url, title)} in the CoE knowledge base. It {when}."),
        *_usage_blocks(usage or Usage()),
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


def _usage_blocks(usage: Usage) -> list[Block]:
    cited = "once" if usage.cited == 1 else f"{usage.cited} times"
    line = f"In the last {USAGE_DAYS} days it was cited {cited}"
    if usage.helpful or usage.unhelpful:
        line += f" (:+1: {usage.helpful} · :-1: {usage.unhelpful})"
    blocks: list[Block] = [_line(line + ".")]
    if usage.unanswered:
        asked = "\n".join(f"• {escape(truncate(q, 200))}" for q in usage.unanswered)
        blocks.append(_line(f"Questions it came closest to but did not answer:\n{asked}"))
    return blocks


DIGEST_LIMIT = 12  # documents listed per part; the rest are counted


def digest(
    due: dict[str, list[DocumentState]], unverified: list[DocumentState], today: date
) -> Message:
    """For CoE staff, weekly: what is past review, by owner, and what nobody verified."""
    total = sum(len(docs) for docs in due.values())
    blocks: list[Block] = [
        _line(
            f"*Knowledge base review, week of {today.isoformat()}*: {total} document(s) past "
            f"their review date, {len(unverified)} never verified by an owner."
        )
    ]
    for owner, docs in sorted(due.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:DIGEST_LIMIT]:
        shown = ", ".join(
            f"{link(d.link, d.title)} ({d.review_by.isoformat() if d.review_by else '?'})"
            for d in docs[:5]
        )
        more = f" and {len(docs) - 5} more" if len(docs) > 5 else ""
        who = f"<@{docs[0].owner_slack}>" if docs[0].owner_slack else escape(owner)
        blocks.append(_line(f"• {who}: {shown}{more}"))
    if unverified:
        oldest = sorted(unverified, key=lambda d: (d.review_by or date.max, d.key))
        names = ", ".join(link(d.link, d.title) for d in oldest[:DIGEST_LIMIT])
        more = f" and {len(oldest) - DIGEST_LIMIT} more" if len(oldest) > DIGEST_LIMIT else ""
        blocks.append(_line(f"Never verified: {names}{more}. `coe docs stale` lists them all."))
    return Message(text=f"Knowledge base review: {total} document(s) past review", blocks=blocks)


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
