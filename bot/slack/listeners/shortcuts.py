"""The message shortcut "Ask the CoE about this"."""

from __future__ import annotations

from slack_bolt import Ack

from bot.slack.intake import QuestionIntake
from bot.slack.listeners.events import dispatch
from bot.slack.registry import Registrar
from bot.slack.responder import strip_mentions
from bot.slack.workers import AnswerWorkers
from bot.work.questions import Ticket

CALLBACK_ID = "ask_coe_about_message"
NAME = "Ask the CoE about this"


def register(reg: Registrar, workers: AnswerWorkers | None, intake: QuestionIntake | None) -> None:
    @reg.message_shortcut(CALLBACK_ID, NAME)
    def ask_about_message(ack: Ack, shortcut: dict) -> None:
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id", "")
        user = (shortcut.get("user") or {}).get("id", "")
        ticket = Ticket(
            key=f"shortcut:{shortcut.get('trigger_id') or channel + ':' + str(message.get('ts'))}",
            surface="shortcut",
            user_id=user,
            channel_id=channel,
            thread_ts=message.get("thread_ts") or message.get("ts"),
            question=strip_mentions(message.get("text", "")),
        )
        # Stored before the ack; the answer goes to the thread, or to a DM if the bot is not
        # in that channel.
        received = intake.store(ticket) if intake else None
        ack()
        if workers is not None:
            dispatch(workers, received)
