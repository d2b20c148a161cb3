"""Buttons: feedback on answers and showing a checklist."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from bot.enablement.checklists import list_checklists
from bot.slack import blocks
from bot.slack.registry import Registrar, serving
from bot.slack.responder import Responder, is_direct_channel


def _where(body: dict) -> tuple[str, str, str | None]:
    channel = (body.get("channel") or body.get("container") or {}).get("id") or body.get(
        "container", {}
    ).get("channel_id", "")
    message = body.get("message") or {}
    return body["user"]["id"], channel, message.get("thread_ts") or message.get("ts")


def register(reg: Registrar, responder: Responder | None) -> None:
    @reg.action(blocks.FEEDBACK)
    def feedback(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        value, _, reference = str(action.get("value") or "").partition(":")
        user, channel, thread_ts = _where(body)
        record = serving(responder).store.answer(reference[:16])
        message_ts = (body.get("message") or {}).get("ts") or (body.get("container") or {}).get(
            "message_ts"
        )
        # Our own record decides: the answer must be the one in this conversation, and in a
        # DM only its asker can rate it. Channel members may rate what they can see.
        allowed = (
            record is not None
            and value in ("positive", "negative")
            and record.channel_id == channel
            and (record.message_ts is None or record.message_ts == message_ts)
            and (not is_direct_channel(channel) or record.user_id == user)
        )
        if not allowed:
            message = blocks.refusal_message(
                "I could not record that feedback: it does not match an answer here."
            )
        else:
            serving(responder).store.record_feedback(reference, user, value)
            message = blocks.feedback_thanks_message(value == "positive")
        client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=thread_ts, **message.to_dict()
        )

    @reg.action(blocks.OPEN_CHECKLIST)
    def open_checklist(ack: Ack, action: dict, respond: Respond) -> None:
        ack()
        wanted = action.get("value")
        for item in list_checklists(serving(responder).answers.index, staff=False):
            if item.doc_id == wanted:
                respond(
                    response_type="ephemeral",
                    replace_original=False,
                    **blocks.checklist_message(item).to_dict(),
                )
                return
        respond(
            response_type="ephemeral",
            replace_original=False,
            text="That checklist is no longer in the knowledge base.",
        )
