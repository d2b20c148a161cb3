"""Composing the reply to a question: limits, thread context, the answer or an error reference."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.answering.events import AnswerEvent, Final
from bot.answering.models import Answer
from bot.answering.service import AnswerService
from bot.db.store import AnswerEntry, Store
from bot.slack import blocks
from bot.slack.staff import StaffDirectory
from bot.telemetry import Telemetry
from bot.work.rate_limit import Limiter

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


@dataclass(frozen=True)
class Reply:
    message: blocks.Message
    entry: AnswerEntry | None  # what goes in the answer log; None for help and rate limits
    answer: Answer | None = None


class Responder:
    def __init__(
        self,
        answers: AnswerService,
        store: Store,
        staff: StaffDirectory,
        limiter: Limiter,
        workshops,
        telemetry: Telemetry,
    ) -> None:
        self.workshops = workshops
        self.telemetry = telemetry
        self.answers = answers
        self.store = store
        self.staff = staff
        self.limiter = limiter

    def compose(
        self,
        ask: Ask,
        reference: str,
        with_store: bool = True,
        on_event: Callable[[AnswerEvent], None] | None = None,
    ) -> Reply:
        """The reply to post; never raises. `with_store=False` when the database is down.

        With a model configured, `on_event` sees each status and verified sentence as the
        answer is written (for streaming); the reply is the finished answer either way."""
        if not self.limiter.allow(ask.user_id):
            self.telemetry.other("rate_limited")
            return Reply(blocks.rate_limited_message(self.limiter.limit), None)
        if not ask.question.strip():
            self.telemetry.other("help")
            return Reply(blocks.help_message(), None)
        entry = AnswerEntry(
            surface=ask.surface,
            user_id=ask.user_id,
            channel_id=ask.channel_id,
            thread_ts=ask.thread_ts,
            question=ask.question,
        )
        try:
            # Staff-only documents never reach a channel, only a staff member's DM.
            staff = is_direct_channel(ask.channel_id) and self.staff.is_staff(ask.user_id)
            if self.answers.writer is not None:
                answer = self._written(ask, staff, with_store, on_event)
            else:
                context = ""
                if ask.thread_ts and with_store:
                    context = " ".join(self.store.thread_questions(ask.channel_id, ask.thread_ts))
                answer = self.answers.ask(ask.question, staff=staff, context=context)
            workshop = (
                self.workshops.active(ask.channel_id) if self.workshops and with_store else None
            )
        except Exception:
            log.exception("answering failed, reference %s", reference)
            self.telemetry.other("failed")
            return Reply(
                blocks.error_message(reference, self.answers.help_channel),
                replace(entry, failed=True),
            )
        self.telemetry.answered(answer)
        return Reply(
            blocks.answer_message(answer, reference),
            answer=answer,
            entry=replace(
                entry,
                answer=answer.answer,
                abstained=answer.abstained,
                source_doc_ids=tuple(s.doc_id for s in answer.sources if s.cited),
                latency_ms=answer.latency_ms,
                workshop_id=workshop.id if workshop else None,
                written=answer.written.model_dump() if answer.written else None,
            ),
        )

    def _written(
        self,
        ask: Ask,
        staff: bool,
        with_store: bool,
        on_event: Callable[[AnswerEvent], None] | None,
    ) -> Answer:
        turns: list[tuple[str, str]] = []
        if ask.thread_ts and with_store:
            turns = self.store.thread_turns(ask.channel_id, ask.thread_ts)
        final: Answer | None = None
        for event in self.answers.stream(ask.question, staff=staff, turns=turns):
            if isinstance(event, Final):
                final = event.answer
            elif on_event is not None:
                try:
                    on_event(event)
                except Exception:  # showing progress must never cost the answer
                    log.exception("could not show answer progress")
        if final is None:
            raise RuntimeError("the answer stream ended without an answer")
        return final
