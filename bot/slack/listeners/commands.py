"""`/coe ask|checklist|help`."""

from __future__ import annotations

import time

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.consultations.models import RequestContext
from bot.enablement.checklists import find_checklist, list_checklists
from bot.slack import blocks
from bot.slack.intake import QuestionIntake
from bot.slack.listeners.events import dispatch
from bot.slack.mrkdwn import escape
from bot.slack.registry import Registrar, serving
from bot.slack.responder import Responder
from bot.slack.workers import AnswerWorkers
from bot.work.questions import Ticket

COMMAND = "/coe"


def register(
    reg: Registrar,
    responder: Responder | None,
    workshops=None,
    workers: AnswerWorkers | None = None,
    intake: QuestionIntake | None = None,
) -> None:
    @reg.command(COMMAND)
    def coe(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        verb, _, rest = (command.get("text") or "").strip().partition(" ")
        verb, rest = verb.lower(), rest.strip()
        if verb == "ask" and rest and intake is not None:
            ticket = Ticket(
                key=f"command:{command.get('trigger_id') or time.time_ns()}",
                surface="command",
                user_id=command.get("user_id", ""),
                channel_id=command.get("channel_id", ""),
                thread_ts=None,
                question=rest,
                response_url=command.get("response_url") or None,
            )
            received = intake.store(ticket)  # stored before the ack: a crash loses nothing
            ack()
            if workers is not None:
                dispatch(workers, received)
            return
        ack()
        if verb in ("consult", "request", "expert"):
            from bot.slack.listeners.consultations import open_intake

            open_intake(client, command["trigger_id"], RequestContext(), title=rest)
            return
        if verb in ("training", "trainings"):
            from datetime import date

            from bot.enablement.training import upcoming_sessions
            from bot.slack.enablement_blocks import training_message

            sessions = upcoming_sessions(serving(responder).answers.index, date.today())
            respond(response_type="ephemeral", **training_message(sessions).to_dict())
            return
        if verb == "workshop":
            _workshop(command, rest, respond, client)
            return
        if verb == "stats":
            _stats(command, respond)
            return
        if verb == "ask":
            message = blocks.help_message()
        elif verb in ("checklist", "checklists"):
            index = serving(responder).answers.index
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

    def _workshop(command: dict, rest: str, respond: Respond, client: WebClient) -> None:
        from bot.enablement.workshops import WorkshopError
        from bot.slack.enablement_blocks import workshop_summary, workshop_welcome

        action, _, name = rest.partition(" ")
        channel, user = command.get("channel_id", ""), command.get("user_id", "")
        try:
            if action == "start":
                workshop = workshops.start(channel, name, user)
                passages = serving(responder).answers.passages(workshop.name, staff=False, k=10)
                materials: list[tuple[str, str | None]] = []
                for p in passages:
                    if p.chunk.title not in [m[0] for m in materials]:
                        materials.append((p.chunk.title, p.chunk.url))
                client.chat_postMessage(
                    channel=channel,
                    **workshop_welcome(workshop.name, user, materials[:3]).to_dict(),
                )
                respond(
                    response_type="ephemeral",
                    text=f"Workshop “{escape(workshop.name)}” started. Questions asked here are "
                    "tagged with it until `/coe workshop end`; you get a summary then.",
                )
            elif action == "end":
                # Only its trainer or CoE staff may close a workshop and read its summary.
                summary = workshops.end(channel, user, serving(responder).staff.is_staff)
                client.chat_postMessage(
                    channel=summary.trainer_id, **workshop_summary(summary).to_dict()
                )
                if user != summary.trainer_id:
                    client.chat_postMessage(channel=user, **workshop_summary(summary).to_dict())
                respond(
                    response_type="ephemeral", text="Workshop ended; the summary is in your DMs."
                )
            else:
                respond(
                    response_type="ephemeral",
                    text='Use `/coe workshop start "name"` or `/coe workshop end`.',
                )
        except WorkshopError as error:
            respond(response_type="ephemeral", text=str(error).capitalize())

    def _stats(command: dict, respond: Respond) -> None:
        from datetime import date, timedelta

        from bot.enablement.metrics import compute_metrics
        from bot.slack.enablement_blocks import stats_message

        if not serving(responder).staff.is_staff(command.get("user_id", "")):
            respond(response_type="ephemeral", text="The CoE figures are for CoE staff.")
            return
        today = date.today()
        metrics = compute_metrics(serving(responder).store, today - timedelta(days=90), today)
        respond(response_type="ephemeral", **stats_message(metrics).to_dict())
