"""The message shortcut "Ask the CoE about this"."""

from __future__ import annotations

import logging

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.registry import Registrar
from bot.slack.responder import Ask, Responder, strip_mentions

log = logging.getLogger(__name__)

CALLBACK_ID = "ask_coe_about_message"
NAME = "Ask the CoE about this"


def register(reg: Registrar, responder: Responder) -> None:
    @reg.message_shortcut(CALLBACK_ID, NAME)
    def ask_about_message(ack: Ack, shortcut: dict, client: WebClient) -> None:
        ack()
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id", "")
        user = (shortcut.get("user") or {}).get("id", "")
        ask = Ask(
            question=strip_mentions(message.get("text", "")),
            user_id=user,
            channel_id=channel,
            thread_ts=message.get("thread_ts") or message.get("ts"),
            surface="shortcut",
        )
        reply, reference = responder.build_reply(ask)
        try:
            posted = client.chat_postMessage(
                channel=channel, thread_ts=ask.thread_ts, **reply.to_dict()
            )
        except SlackApiError as error:
            # Not a member of that channel: answer the person who asked, privately.
            log.info("shortcut answer %s goes to a DM: %s", reference, error.response.get("error"))
            dm = client.conversations_open(users=user)["channel"]["id"]
            posted = client.chat_postMessage(channel=dm, **reply.to_dict())
        if posted.get("ts"):
            responder.store.set_message_ts(reference, posted["ts"])
