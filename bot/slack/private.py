"""Telling one person something privately: ephemeral where they are, else a direct message."""

from __future__ import annotations

import logging

from slack_sdk import WebClient

from bot.slack.blocks import Message

log = logging.getLogger(__name__)


def tell_privately(
    client: WebClient,
    user: str,
    channel: str | None,
    message: Message,
    thread_ts: str | None = None,
) -> bool:
    """True once it reached them; never raises (the caller's work is already done)."""
    body = message.to_dict()
    if channel and channel != user:
        try:
            client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, **body)
            return True
        except Exception as error:  # not in that channel, or Slack is down: try a DM
            log.info("no ephemeral for %s in %s: %s", user, channel, error)
    try:
        client.chat_postMessage(channel=user, **body)
        return True
    except Exception as error:
        log.warning("could not tell %s privately: %s", user, error)
        return False
