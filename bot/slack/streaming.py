"""A written answer streamed into its Slack thread, one verified sentence at a time.

`chat.startStream` opens the message with the first sentence that passed verification and
`chat.appendStream` adds each next one, so nothing unchecked is ever on screen. The closing
`chat.stopStream`, with sources and buttons, goes through the outbox like any reply, so it
survives Slack hiccups and restarts. If Slack refuses the stream, the answer is posted whole.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient

from bot.answering.events import AnswerEvent, Caveat, Status, Verified
from bot.slack import blocks

log = logging.getLogger(__name__)


class AnswerStream:
    def __init__(
        self,
        client: WebClient,
        channel_id: str,
        thread_ts: str,
        user_id: str,
        team_id: Callable[[], str | None],
        on_status: Callable[[str], None] | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.channel_id = channel_id
        self.thread_ts = thread_ts
        self.user_id = user_id
        self._team_id = team_id
        self._on_status = on_status
        self._on_started = on_started
        self.ts: str | None = None  # the streaming message, once started
        self.unsent = ""  # verified text Slack did not take; sent with the stop
        self.refused = False  # Slack would not start a stream: post the answer whole
        self.sentences = 0
        self._previous_kind: str | None = None
        self._caveat = ""

    def on_event(self, event: AnswerEvent) -> None:
        if isinstance(event, Status):
            if self._on_status is not None:
                self._on_status(event.text)
        elif isinstance(event, Caveat):
            self._caveat = f":mag: _{blocks.escape(event.text)}_\n"
        elif isinstance(event, Verified):
            text = blocks.streamed_sentence(event.sentence, self._previous_kind)
            if self.sentences == 0:
                text = self._caveat + text
            self.add(text)
            self.sentences += 1
            self._previous_kind = event.sentence.kind

    def add(self, markdown: str) -> None:
        if self.refused:
            return
        if self.ts is not None and self.unsent:
            self.unsent += markdown  # an append failed: keep order, send the rest at the end
            return
        try:
            if self.ts is None:
                response = self.client.chat_startStream(
                    channel=self.channel_id,
                    thread_ts=self.thread_ts,
                    markdown_text=markdown,
                    recipient_user_id=self.user_id,
                    recipient_team_id=self._team_id(),
                )
                self.ts = str(response["ts"])
                if self._on_started is not None:
                    try:
                        self._on_started(self.ts)
                    except Exception as error:  # the record helps after a crash only
                        log.warning("could not record stream %s: %s", self.ts, error)
            else:
                self.client.chat_appendStream(
                    channel=self.channel_id, ts=self.ts, markdown_text=markdown
                )
        except Exception as error:
            if self.ts is None:
                log.warning("could not start streaming in %s: %s", self.channel_id, error)
                self.refused = True
            else:
                log.warning("could not append to stream %s: %s", self.ts, error)
                self.unsent += markdown

    @property
    def started(self) -> bool:
        return self.ts is not None
