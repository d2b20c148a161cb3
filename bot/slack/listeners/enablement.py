"""Checklist runs in a channel: start one, tick items, see progress update in place."""

from __future__ import annotations

import logging

from slack_bolt import Ack, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.enablement.checklists import list_checklists
from bot.enablement.runs import ChecklistRuns, item_key
from bot.slack.blocks import refusal_message
from bot.slack.enablement_blocks import START_RUN, TICK, run_message
from bot.slack.registry import Registrar, serving

log = logging.getLogger(__name__)


def register(reg: Registrar, responder, runs: ChecklistRuns | None) -> None:
    def current_version(doc_id: str) -> str | None:
        for item in list_checklists(responder.answers.index, staff=True):
            if item.doc_id == doc_id:
                return item.checklist.version
        return None

    @reg.action(START_RUN)
    def start_run(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond) -> None:
        ack()
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get(
            "channel_id"
        )
        found = next(
            (
                c
                for c in list_checklists(responder.answers.index, staff=False)
                if c.doc_id == action.get("value")
            ),
            None,
        )
        if found is None:
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="That checklist is no longer in the knowledge base.",
            )
            return
        run = serving(runs).start(channel, found, body["user"]["id"])
        try:
            posted = client.chat_postMessage(
                channel=channel, **run_message(run, found.checklist.version).to_dict()
            )
        except SlackApiError as error:
            log.info("could not post checklist run %s in %s: %s", run.id, channel, error)
            respond(
                response_type="ephemeral",
                replace_original=False,
                text="I could not post in this channel — invite me with `/invite @CoE Assistant` and try again.",
            )
            return
        serving(runs).set_message(run.id, posted["ts"])

    @reg.action(TICK)
    def tick(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
            "channel_id"
        )
        if channel is None:
            # Nowhere to check the run against, nor to post a refusal in.
            log.info("checklist tick by %s without a channel; ignored", user)
            return
        parsed = _parse_tick(str(action.get("block_id") or ""))
        view = None
        if parsed is not None:
            try:
                view = serving(runs).get(parsed[0])
            except LookupError:
                view = None
        # A run is ticked only from its own channel, in groups it really has.
        if (
            view is None
            or parsed is None
            or view.channel_id != channel
            or parsed[1] >= len(view.sections)
        ):
            client.chat_postEphemeral(
                channel=channel,
                user=user,
                **refusal_message(
                    "That checklist run does not belong to this channel; nothing was ticked."
                ).to_dict(),
            )
            return
        run_id, section, start = parsed
        items = view.sections[section]["items"]
        shown = {item_key(section, i) for i in range(start, min(start + 10, len(items)))}
        selected = {str(o.get("value")) for o in action.get("selected_options") or []}
        view = serving(runs).tick(run_id, shown, selected & shown, user)
        ts = view.message_ts or (body.get("message") or {}).get("ts")
        if ts is None:
            # The ticks are stored; with no known message there is nothing to redraw.
            log.info("checklist run %s has no message to update", run_id)
            return
        client.chat_update(
            channel=channel, ts=ts, **run_message(view, current_version(view.doc_id)).to_dict()
        )


def _parse_tick(block_id: str) -> tuple[int, int, int] | None:
    """run:<id>:<section>:<start> from a checkbox group's block id; None when forged."""
    parts = block_id.split(":")
    if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2]), int(parts[3])
