"""Delivering requests to Slack: the triage card, updates in place, DMs, reminders, reposts.

Every request is already committed when these run; a failed post is recorded on the request
and tried again later (background loop and `coe requests repost`), so nothing is lost.
"""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.consultations.models import RequestView
from bot.consultations.service import ConsultationService
from bot.slack import consult_blocks

log = logging.getLogger(__name__)
RETRY_EVERY_S = 60.0


class TriageNotifier:
    def __init__(
        self, client: WebClient, service: ConsultationService, channel_id: str | None
    ) -> None:
        self.client = client
        self.service = service
        self.channel_id = channel_id

    def post(self, request: RequestView) -> bool:
        if not self.channel_id:
            self.service.mark_post_failed(request.id, "COE_TRIAGE_CHANNEL_ID is not set")
            log.warning(
                "%s stored but not posted: COE_TRIAGE_CHANNEL_ID is not set", request.public_id
            )
            return False
        try:
            response = self.client.chat_postMessage(
                channel=self.channel_id, **consult_blocks.triage_message(request).to_dict()
            )
        except Exception as error:  # SlackApiError, timeouts, connection errors alike
            self.service.mark_post_failed(request.id, str(error))
            log.error(
                "%s stored but not posted to triage (will retry): %s", request.public_id, error
            )
            return False
        self.service.mark_posted(request.id, self.channel_id, response["ts"])
        return True

    def refresh(self, request: RequestView) -> None:
        if not (request.posted and request.triage_channel_id and request.triage_ts):
            self.post(request)
            return
        try:
            self.client.chat_update(
                channel=request.triage_channel_id,
                ts=request.triage_ts,
                **consult_blocks.triage_message(request).to_dict(),
            )
        except SlackApiError as error:
            log.error("could not update the triage card of %s: %s", request.public_id, error)

    def tell_requester(self, request: RequestView, what: str) -> None:
        try:
            self.client.chat_postMessage(
                channel=request.requester_id,
                **consult_blocks.requester_update(request, what).to_dict(),
            )
        except SlackApiError as error:
            log.error(
                "could not DM %s about %s: %s", request.requester_id, request.public_id, error
            )

    def confirm(self, request: RequestView) -> None:
        days = self.service.sla_working_days
        sla = "within one working day" if days == 1 else f"within {days:g} working days"
        try:
            self.client.chat_postMessage(
                channel=request.requester_id, **consult_blocks.confirmation(request, sla).to_dict()
            )
        except SlackApiError as error:
            log.error(
                "could not confirm %s to %s: %s", request.public_id, request.requester_id, error
            )

    def repost_pending(self) -> tuple[int, int]:
        posted = failed = 0
        for request in self.service.unposted():
            if self.post(request):
                posted += 1
            else:
                failed += 1
        return posted, failed

    def send_sla_reminders(self) -> int:
        sent = 0
        for request in self.service.claim_sla_reminders():
            try:
                self.client.chat_postMessage(
                    channel=request.triage_channel_id or self.channel_id,
                    thread_ts=request.triage_ts,
                    **consult_blocks.sla_reminder(request).to_dict(),
                )
                sent += 1
            except SlackApiError as error:
                log.error("SLA reminder for %s failed: %s", request.public_id, error)
        return sent


def start_background_loop(
    notifier: TriageNotifier, every_s: float = RETRY_EVERY_S
) -> threading.Event:
    """Reposts what Slack refused earlier and sends due SLA reminders, until the event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                notifier.repost_pending()
                notifier.send_sla_reminders()
            except Exception:
                log.exception("background delivery round failed; trying again next round")

    threading.Thread(target=loop, name="coe-triage-loop", daemon=True).start()
    return stop
