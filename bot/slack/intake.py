"""Receiving questions: decide whether a Slack event is a question, and store it before the ack.

Bolt acknowledges events before listeners run, so this runs as a global middleware: the job
is in the database before Slack gets its 200, and a crash after that loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from bot.slack.responder import mentions_others, strip_mentions
from bot.work.questions import Job, QuestionJobs, Ticket
from bot.work.receiver import BatchedReceiver, NotStoredError

log = logging.getLogger(__name__)

CONTEXT_KEY = "coe_intake"


def question_from_event(
    event: dict, bot_user_id: str | None, bot_in_thread: Callable[[str, str], bool]
) -> Ticket | None:
    """The question in a mention, a DM or a follow-up in the bot's thread; None otherwise."""
    kind = event.get("type")
    channel = str(event.get("channel") or "")
    ts = str(event.get("ts") or "")
    user = str(event.get("user") or "")
    if not channel or not ts or not user:
        return None
    key = f"msg:{channel}:{ts}"
    text = str(event.get("text") or "")
    if kind == "app_mention":
        return Ticket(
            key, "mention", user, channel, event.get("thread_ts") or ts, strip_mentions(text)
        )
    if kind != "message" or event.get("subtype") or event.get("bot_id"):
        return None  # edits, joins, and bots (including this one) are not questions
    thread_ts = event.get("thread_ts")
    if event.get("channel_type") == "im":
        surface = "assistant" if thread_ts else "dm"
        return Ticket(key, surface, user, channel, thread_ts, strip_mentions(text))
    if not thread_ts:
        return None
    if bot_user_id and f"<@{bot_user_id}" in text:
        return None  # the app_mention event for the same message answers it
    if mentions_others(text, bot_user_id):
        return None  # people talking to each other in the bot's thread
    if not bot_in_thread(channel, thread_ts):
        return None
    return Ticket(key, "thread", user, channel, thread_ts, strip_mentions(text))


@dataclass(frozen=True)
class Intake:
    """What the listener should do: answer a stored job, or answer without the database."""

    job: Job | None = None
    unstored: Ticket | None = None


class QuestionIntake:
    def __init__(self, jobs: QuestionJobs, bot_in_thread: Callable[[str, str], bool]) -> None:
        self.jobs = jobs
        self.bot_in_thread = bot_in_thread
        self._receiver = BatchedReceiver(jobs)

    def receive(self, event: dict, bot_user_id: str | None) -> Intake | None:
        try:
            ticket = question_from_event(event, bot_user_id, self.bot_in_thread)
        except SQLAlchemyError as error:
            # Cannot tell a follow-up from side talk without the database: mentions and DMs
            # are still answered below; thread follow-ups wait for the database.
            log.warning("database unavailable while reading an event: %s", error)
            ticket = question_from_event(event, bot_user_id, lambda _c, _t: False)
            return Intake(unstored=ticket) if ticket else None
        if ticket is None:
            return None
        return self.store(ticket)

    def store(self, ticket: Ticket) -> Intake:
        try:
            job, _created = self._receiver.receive(ticket)
        except (SQLAlchemyError, NotStoredError) as error:
            log.warning("database unavailable, %s not stored: %s", ticket.key, error)
            return Intake(unstored=ticket)
        return Intake(job=job)

    def middleware(self, body: dict, context, next: Callable[[], object]):
        """Bolt global middleware: store question events before bolt acknowledges them."""
        if body.get("type") == "event_callback":
            event = body.get("event") or {}
            if event.get("type") in ("app_mention", "message"):
                context[CONTEXT_KEY] = self.receive(event, context.bot_user_id)
        return next()
