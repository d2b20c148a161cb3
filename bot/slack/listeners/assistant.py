"""Slack's agent / assistant pane: suggested prompts, a status while searching, the answer."""

from __future__ import annotations

from slack_bolt import Assistant, Say, SetSuggestedPrompts

from bot.slack.intake import CONTEXT_KEY
from bot.slack.listeners.events import dispatch
from bot.slack.registry import Registrar
from bot.slack.workers import AnswerWorkers

SUGGESTED_PROMPTS = [
    {
        "title": "Launch readiness",
        "message": "What has to be in place before an AI feature launches?",
    },
    {"title": "Red-teaming", "message": "Who owns red-teaming and how do we book it?"},
    {"title": "Model access", "message": "How do I get access to the model gateway?"},
    {"title": "Training", "message": "Which AI trainings are coming up?"},
]


def register(reg: Registrar, workers: AnswerWorkers | None) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def started(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        say("Hi! Ask me about the AI CoE's standards, checklists, playbooks and training.")
        set_suggested_prompts(prompts=SUGGESTED_PROMPTS)

    @assistant.user_message
    def user_message(context) -> None:
        # Stored by the intake middleware; the worker sets the "searching…" status.
        if workers is not None:
            dispatch(workers, context.get(CONTEXT_KEY))

    reg.app.assistant(assistant)
    reg.assistant = True
    reg.events.extend(["assistant_thread_started", "assistant_thread_context_changed"])
