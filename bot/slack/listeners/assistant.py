"""Slack's agent / assistant pane: suggested prompts, a status while searching, the answer."""

from __future__ import annotations

from slack_bolt import Assistant, Say, SetStatus, SetSuggestedPrompts
from slack_sdk import WebClient

from bot.slack.registry import Registrar
from bot.slack.responder import Ask, Responder

SUGGESTED_PROMPTS = [
    {
        "title": "Launch readiness",
        "message": "What has to be in place before an AI feature launches?",
    },
    {"title": "Red-teaming", "message": "Who owns red-teaming and how do we book it?"},
    {"title": "Model access", "message": "How do I get access to the model gateway?"},
    {"title": "Training", "message": "Which AI trainings are coming up?"},
]
STATUS = "searching the knowledge base…"


def register(reg: Registrar, responder: Responder) -> None:
    assistant = Assistant()

    @assistant.thread_started
    def started(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
        say("Hi! Ask me about the AI CoE's standards, checklists, playbooks and training.")
        set_suggested_prompts(prompts=SUGGESTED_PROMPTS)

    @assistant.user_message
    def user_message(payload: dict, client: WebClient, set_status: SetStatus) -> None:
        if not responder.store.claim(f"msg:{payload.get('channel')}:{payload.get('ts')}"):
            return
        set_status(STATUS)
        responder.answer(
            client,
            Ask(
                question=payload.get("text", ""),
                user_id=payload.get("user", ""),
                channel_id=payload["channel"],
                thread_ts=payload.get("thread_ts"),
                surface="assistant",
            ),
        )

    reg.app.assistant(assistant)
    reg.assistant = True
    reg.events.extend(["assistant_thread_started", "assistant_thread_context_changed"])
