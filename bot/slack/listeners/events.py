"""Mentions, follow-ups in the bot's threads, and direct messages.

The intake middleware has already stored the question (or found the database down); these
listeners only hand it to the answer workers.
"""

from __future__ import annotations

from bot.slack.intake import CONTEXT_KEY, Intake
from bot.slack.registry import Registrar
from bot.slack.workers import AnswerWorkers


def dispatch(workers: AnswerWorkers, intake: Intake | None) -> None:
    if intake is None:
        return
    if intake.job is not None:
        if intake.job.open:
            # New, or a Slack retry of a question nobody finished: the claim decides who answers.
            workers.submit(intake.job.id)
    elif intake.unstored is not None:
        workers.answer_unstored(intake.unstored)


def register(reg: Registrar, workers: AnswerWorkers | None) -> None:
    @reg.event("app_mention")
    def on_mention(context) -> None:
        if workers is not None:
            dispatch(workers, context.get(CONTEXT_KEY))

    @reg.event("message")
    def on_message(context) -> None:
        if workers is not None:
            dispatch(workers, context.get(CONTEXT_KEY))
