"""Answering a question in Slack: limits, context, the answer or an error with a reference."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answering.service import AnswerService
from bot.db.store import AnswerEntry, Store, new_reference
from bot.slack import blocks
from bot.slack.limits import PerUserLimiter
from bot.slack.staff import StaffDirectory

log = logging.getLogger(__name__)

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mentions(text: str) -> str:
    return " ".join(_MENTION.sub(" ", text or "").split())


def mentions_others(text: str, bot_user_id: str | None) -> bool:
    """People talking to each other in the bot's thread: not a question for the bot."""
    ids = set(re.findall(r"<@([A-Z0-9]+)", text or ""))
    return bool(ids - {bot_user_id})


def is_direct_channel(channel_id: str) -> bool:
    return channel_id.startswith("D")


@dataclass(frozen=True)
class Ask:
    question: str
    user_id: str
    channel_id: str
    thread_ts: str | None  # reply in this thread; None posts at the top of a DM
    surface: str


class Responder:
    def __init__(
        self,
        answers: AnswerService,
        store: Store,
        staff: StaffDirectory,
        limiter: PerUserLimiter,
        workshops=None,
    ) -> None:
        self.workshops = workshops
        self.answers = answers
        self.store = store
        self.staff = staff
        self.limiter = limiter

    def build_reply(self, ask: Ask) -> tuple[blocks.Message, str]:
        """The message to post for a question, and the reference it is logged under."""
        reference = new_reference()
        if not self.limiter.allow(ask.user_id):
            return blocks.rate_limited_message(self.limiter.limit), reference
        if not ask.question.strip():
            return blocks.help_message(), reference
        entry = AnswerEntry(
            surface=ask.surface,
            user_id=ask.user_id,
            channel_id=ask.channel_id,
            thread_ts=ask.thread_ts,
            question=ask.question,
        )
        try:
            context = ""
            if ask.thread_ts:
                context = " ".join(self.store.thread_questions(ask.channel_id, ask.thread_ts))
            # Staff-only documents never reach a channel, only a staff member's DM.
            staff = is_direct_channel(ask.channel_id) and self.staff.is_staff(ask.user_id)
            answer = self.answers.ask(ask.question, staff=staff, context=context)
            message = blocks.answer_message(answer, reference)
            workshop = self.workshops.active(ask.channel_id) if self.workshops else None
            entry = replace(
                entry,
                answer=answer.answer,
                abstained=answer.abstained,
                source_doc_ids=tuple(s.doc_id for s in answer.sources if s.cited),
                latency_ms=answer.latency_ms,
                workshop_id=workshop.id if workshop else None,
            )
            self.store.record_answer(entry, reference)
        except Exception:
            log.exception("answering failed, reference %s", reference)
            message = blocks.error_message(reference)
            try:
                self.store.record_answer(replace(entry, failed=True), reference)
            except Exception:
                log.exception("could not log failed answer %s", reference)
        return message, reference

    def answer(self, client: WebClient, ask: Ask) -> str | None:
        """Posts the reply; returns its ts, or None when Slack refused it (logged)."""
        message, reference = self.build_reply(ask)
        try:
            response = client.chat_postMessage(
                channel=ask.channel_id, thread_ts=ask.thread_ts, **message.to_dict()
            )
        except SlackApiError as error:
            log.error("could not post answer %s to %s: %s", reference, ask.channel_id, error)
            return None
        ts = response.get("ts")
        if ts:
            try:
                self.store.set_message_ts(reference, ts)
            except Exception:
                log.exception("could not store the ts of answer %s", reference)
        return ts
