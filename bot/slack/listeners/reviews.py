"""The owner's answers to a review reminder: still accurate, needs an update, not mine."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack import review_blocks
from bot.slack.blocks import Message
from bot.slack.registry import Registrar, serving
from bot.slack.reviews import ReviewNotifier

log = logging.getLogger(__name__)

GONE = "That document is no longer in the knowledge base; nothing to review."


def _replace(client: WebClient, body: dict, message: Message) -> None:
    """Puts the answer in place of the reminder, so its buttons cannot be pressed twice."""
    container = body.get("container") or {}
    channel, ts = container.get("channel_id") or "", container.get("message_ts") or ""
    if not (channel and ts):
        return
    try:
        client.chat_update(channel=channel, ts=ts, **message.to_dict())
    except SlackApiError as error:  # the answer is stored; only the DM stays as it was
        log.info("could not update the review reminder: %s", error)


def register(reg: Registrar, notifier: ReviewNotifier | None) -> None:
    @reg.action(review_blocks.STILL_ACCURATE)
    def still_accurate(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        done = serving(notifier).still_accurate(action.get("value") or "", body["user"]["id"])
        _replace(client, body, done or Message(text=GONE))

    @reg.action(review_blocks.NEEDS_UPDATE)
    def needs_update(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        key = action.get("value") or ""
        entry = serving(notifier).entry(key)
        if entry is None:
            _replace(client, body, Message(text=GONE))
            return
        view = review_blocks.update_note_view(key, entry.title)
        # The reminder's place, so that the note's answer can replace it.
        container = body.get("container") or {}
        view.private_metadata = "\n".join(
            [key, container.get("channel_id") or "", container.get("message_ts") or ""]
        )
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @reg.view(review_blocks.UPDATE_NOTE_VIEW)
    def note_submitted(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        values = ((view.get("state") or {}).get("values") or {}).get(review_blocks.NOTE_BLOCK)
        note = ((values or {}).get(review_blocks.NOTE_INPUT) or {}).get("value") or ""
        if not note.strip():
            ack(response_action="errors", errors={review_blocks.NOTE_BLOCK: "Say what is wrong."})
            return
        ack()
        key, _, place = (view.get("private_metadata") or "").partition("\n")
        channel, _, ts = place.partition("\n")
        done = serving(notifier).needs_update(key, body["user"]["id"], note.strip())
        _replace(
            client,
            {"container": {"channel_id": channel, "message_ts": ts}},
            done or Message(text=GONE),
        )

    @reg.action(review_blocks.NOT_MINE)
    def not_mine(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        done = serving(notifier).not_mine(action.get("value") or "", body["user"]["id"])
        _replace(client, body, done or Message(text=GONE))
