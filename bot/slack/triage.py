"""A request's messages in Slack: the triage card, updates in place, DMs, reminders.

Every message goes through the outbox: the card and the requester's confirmation are queued
in the transaction that stores the request, so they are posted once each, whatever Slack or
our own processes do meanwhile. The renderers read the request when the message is sent, so a
card posted late shows the request as it is then.
"""

from __future__ import annotations

import logging
import uuid

from bot.consultations.models import RequestView
from bot.consultations.service import (
    CONFIRMATION,
    SLA_REMINDER,
    TRIAGE_CARD,
    ConsultationService,
    triage_card_item,
)
from bot.slack import consult_blocks
from bot.slack.delivery import Deliverer, NotReady, SlackCall, render_post
from bot.work.outbox import Delivery, Outbox, OutboxItem

log = logging.getLogger(__name__)
TRIAGE_REFRESH = "triage_refresh"
POST = "post"
REQUEST_KINDS = (TRIAGE_CARD, CONFIRMATION, SLA_REMINDER, TRIAGE_REFRESH)
DM_TRIES = 8


class TriageNotifier:
    def __init__(
        self,
        deliverer: Deliverer,
        service: ConsultationService,
        channel_id: str | None,
    ) -> None:
        self.deliverer = deliverer
        self.outbox: Outbox = deliverer.outbox
        self.service = service
        self.channel_id = channel_id
        deliverer.renderers.update(
            {
                TRIAGE_CARD: self._render_card,
                TRIAGE_REFRESH: self._render_refresh,
                CONFIRMATION: self._render_confirmation,
                SLA_REMINDER: self._render_reminder,
                POST: render_post,
            }
        )
        deliverer.on_sent[TRIAGE_CARD] = self._card_sent
        deliverer.on_retry[TRIAGE_CARD] = self._card_failed

    # -- renderers (called at send time) ---------------------------------------------------

    def _render_card(self, delivery: Delivery) -> SlackCall:
        if not self.channel_id:
            raise NotReady("COE_TRIAGE_CHANNEL_ID is not set")
        request = self.service.get(delivery.subject_id or 0, with_history=False)
        return SlackCall(
            "chat.postMessage",
            {"channel": self.channel_id, **consult_blocks.triage_message(request).to_dict()},
        )

    def _render_refresh(self, delivery: Delivery) -> SlackCall | None:
        request = self.service.get(delivery.subject_id or 0, with_history=False)
        if not (request.posted and request.triage_channel_id and request.triage_ts):
            return None  # the card is not out yet; it is rendered fresh when it is posted
        return SlackCall(
            "chat.update",
            {
                "channel": request.triage_channel_id,
                "ts": request.triage_ts,
                **consult_blocks.triage_message(request).to_dict(),
            },
        )

    def _render_confirmation(self, delivery: Delivery) -> SlackCall:
        request = self.service.get(delivery.subject_id or 0, with_history=False)
        days = self.service.sla_working_days
        sla = "within one working day" if days == 1 else f"within {days:g} working days"
        return SlackCall(
            "chat.postMessage",
            {
                "channel": request.requester_id,
                **consult_blocks.confirmation(request, sla).to_dict(),
            },
        )

    def _render_reminder(self, delivery: Delivery) -> SlackCall:
        request = self.service.get(delivery.subject_id or 0, with_history=False)
        channel = request.triage_channel_id or self.channel_id
        if not channel:
            raise NotReady("COE_TRIAGE_CHANNEL_ID is not set")
        return SlackCall(
            "chat.postMessage",
            {
                "channel": channel,
                "thread_ts": request.triage_ts,
                **consult_blocks.sla_reminder(request).to_dict(),
            },
        )

    def _card_sent(self, delivery: Delivery, channel: str | None, ts: str | None) -> None:
        if delivery.subject_id and channel and ts:
            self.service.mark_posted(delivery.subject_id, channel, ts)

    def _card_failed(self, delivery: Delivery, error: str) -> None:
        if delivery.subject_id:
            self.service.mark_post_failed(delivery.subject_id, error)

    # -- what listeners call ---------------------------------------------------------------

    def deliver_new(self, request: RequestView) -> None:
        """Posts a new request's card and confirmation now (both were queued with it)."""
        for key in (f"triage:{request.id}", f"confirm:{request.id}"):
            row = self.outbox.by_key(key)
            if row is not None:
                self.deliverer.deliver(row.id)

    def _send(self, item: OutboxItem) -> None:
        outbox_id = self.outbox.enqueue(item)
        if outbox_id is not None:
            self.deliverer.deliver(outbox_id)

    def refresh(self, request: RequestView) -> None:
        self._send(
            OutboxItem(
                key=f"refresh:{request.id}:{uuid.uuid4().hex}",
                kind=TRIAGE_REFRESH,
                subject_id=request.id,
                max_attempts=DM_TRIES,
            )
        )

    def tell_requester(self, request: RequestView, what: str, plain: str | None = None) -> None:
        message = consult_blocks.requester_update(request, what, plain)
        self._send(
            OutboxItem(
                key=f"tell:{request.id}:{uuid.uuid4().hex}",
                kind=POST,
                channel_id=request.requester_id,
                subject_id=request.id,
                payload={"message": message.to_dict()},
                max_attempts=DM_TRIES,
            )
        )

    def post_in_card_thread(self, request: RequestView, text: str, plain: str) -> None:
        if not (request.triage_channel_id and request.triage_ts):
            return
        self._send(
            OutboxItem(
                key=f"note:{request.id}:{uuid.uuid4().hex}",
                kind=POST,
                channel_id=request.triage_channel_id,
                thread_ts=request.triage_ts,
                subject_id=request.id,
                payload={"message": consult_blocks.thread_note(text, plain).to_dict()},
                max_attempts=DM_TRIES,
            )
        )

    # -- background and CLI ----------------------------------------------------------------

    def repost_pending(self) -> tuple[int, int]:
        """Posts every card not yet in Slack, now; returns (posted, still failing).

        Safe to run from several places at once (replicas, `coe requests repost`): each card
        is claimed before it is posted.
        """
        for request in self.service.unposted():
            self.outbox.enqueue(triage_card_item(request.id))  # requests from before 0004
        self.outbox.hurry((TRIAGE_CARD,))
        return self.deliverer.run_due((TRIAGE_CARD,))

    def send_sla_reminders(self) -> int:
        claimed = self.service.claim_sla_reminders()
        if claimed:
            self.deliverer.run_due((SLA_REMINDER,))
        return len(claimed)
