"""`/coe ask|checklist|help`."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.consultations.models import RequestContext
from bot.enablement.checklists import find_checklist, list_checklists
from bot.slack import blocks
from bot.slack.registry import Registrar
from bot.slack.responder import Ask, Responder

COMMAND = "/coe"


def register(reg: Registrar, responder: Responder) -> None:
    @reg.command(COMMAND)
    def coe(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        ack()
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb in ("consult", "request", "expert"):
            from bot.slack.listeners.consultations import open_intake

            open_intake(client, command["trigger_id"], RequestContext(), title=rest)
            return
        if verb == "ask":
            message, _ = responder.build_reply(
                Ask(
                    question=rest,
                    user_id=command.get("user_id", ""),
                    channel_id=command.get("channel_id", ""),
                    thread_ts=None,
                    surface="command",
                )
            )
        elif verb in ("checklist", "checklists"):
            index = responder.answers.index
            available = list_checklists(index, staff=False)
            if not rest:
                message = blocks.checklist_list_message(available)
            else:
                found = find_checklist(index, rest, staff=False)
                message = (
                    blocks.checklist_message(found)
                    if found
                    else blocks.not_found_checklist_message(rest, available)
                )
        else:
            message = blocks.help_message()
        respond(response_type="ephemeral", **message.to_dict())
