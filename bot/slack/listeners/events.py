"""Mentions, follow-ups in the bot's threads, and direct messages."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.slack.registry import Registrar
from bot.slack.responder import Ask, Responder, mentions_others, strip_mentions

log = logging.getLogger(__name__)


def _claim(responder: Responder, event: dict) -> bool:
    """One answer per message: Slack's retries and the mention+message pair share a key."""
    return responder.store.claim(f"msg:{event.get('channel')}:{event.get('ts')}")


def register(reg: Registrar, responder: Responder) -> None:
    @reg.event("app_mention")
    def on_mention(event: dict, client: WebClient) -> None:
        if not _claim(responder, event):
            return
        responder.answer(
            client,
            Ask(
                question=strip_mentions(event.get("text", "")),
                user_id=event.get("user", ""),
                channel_id=event["channel"],
                thread_ts=event.get("thread_ts") or event["ts"],
                surface="mention",
            ),
        )

    @reg.event("message")
    def on_message(event: dict, client: WebClient, context) -> None:
        if event.get("subtype") or event.get("bot_id"):
            return  # edits, joins, and bots (including this one) are not questions
        text = event.get("text", "")
        channel = event.get("channel", "")
        thread_ts = event.get("thread_ts")
        if event.get("channel_type") == "im":
            surface, reply_ts = "dm", thread_ts
        elif thread_ts and responder.store.bot_in_thread(channel, thread_ts):
            if context.bot_user_id and f"<@{context.bot_user_id}" in text:
                return  # the app_mention event answers it
            if mentions_others(text, context.bot_user_id):
                return
            surface, reply_ts = "thread", thread_ts
        else:
            return
        if not _claim(responder, event):
            return
        responder.answer(
            client,
            Ask(
                question=strip_mentions(text),
                user_id=event.get("user", ""),
                channel_id=channel,
                thread_ts=reply_ts,
                surface=surface,
            ),
        )
