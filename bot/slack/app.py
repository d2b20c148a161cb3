"""Builds the bolt app with every listener, a Web API client and its retry policy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.consultations.service import ConsultationService
from bot.container import Services
from bot.db.store import Store, new_reference
from bot.enablement.runs import ChecklistRuns
from bot.enablement.workshops import WorkshopService
from bot.logs import about
from bot.settings import Settings
from bot.shared_index import SharedIndex
from bot.slack import blocks
from bot.slack.delivery import Deliverer, delivery_client
from bot.slack.intake import QuestionIntake
from bot.slack.listeners import (
    actions,
    assistant,
    commands,
    consultations,
    enablement,
    events,
    reviews,
    shortcuts,
)
from bot.slack.private import tell_privately
from bot.slack.registry import Registrar
from bot.slack.responder import Responder
from bot.slack.reviews import DIGEST_CHECK_S, DIGEST_JOB, REVIEW_JOB, ReviewNotifier
from bot.slack.staff import StaffDirectory
from bot.slack.triage import TriageNotifier
from bot.slack.workers import AnswerWorkers
from bot.telemetry import Telemetry
from bot.work.claims import JobClaims
from bot.work.outbox import Outbox
from bot.work.questions import QuestionJobs

log = logging.getLogger(__name__)

RETENTION_JOB = "retention-purge"
RETENTION_EVERY_S = 24 * 3600.0


class SlackConfigError(Exception):
    """Tokens missing or refused; the message says what to set."""


@dataclass
class SlackApp:
    bolt: App
    registrar: Registrar
    responder: Responder
    consultations: ConsultationService
    notifier: TriageNotifier
    workshops: WorkshopService
    runs: ChecklistRuns
    workers: AnswerWorkers
    deliverer: Deliverer
    store: Store
    telemetry: Telemetry
    claims: JobClaims | None = None
    retention_days: int | None = None
    shared_index: SharedIndex | None = None
    reviews: ReviewNotifier | None = None
    review_every_s: float = 3600.0

    def start_background(self, every_s: float) -> None:
        """Resumes unanswered questions and undelivered messages now and every `every_s`."""
        self.workers.start_sweeping(every_s, also=self._hourly_chores)

    def _hourly_chores(self) -> None:
        # Each reminder and card is claimed one by one, so every replica may try them.
        self.notifier.send_sla_reminders()
        self.notifier.repost_pending()
        if self.claims is not None and self.retention_days is not None:
            # Once a day, by whichever replica claims it first.
            self.claims.run_if_due(RETENTION_JOB, RETENTION_EVERY_S, self._purge)
        if self.claims is not None and self.reviews is not None:
            # Each reminder is queued once ever (outbox key): the claim only spares the work.
            # A failure here (no index yet, an owners file being edited) must not slow the
            # sweeps that resume people's questions: it is logged and tried next period.
            try:
                self.claims.run_if_due(REVIEW_JOB, self.review_every_s, self.reviews.queue_due)
                self.claims.run_if_due(DIGEST_JOB, DIGEST_CHECK_S, self.reviews.post_digest)
            except Exception as error:
                log.warning("review reminders not sent this time: %s", error)

    def _purge(self) -> None:
        from bot.enablement.retention import purge_older_than

        removed = purge_older_than(self.store, self.retention_days or 0)
        log.info("retention purge: %s", removed)

    def stop(self, timeout_s: float) -> bool:
        return self.workers.stop(timeout_s)


def web_client(settings: Settings) -> WebClient:
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(max(1, settings.slack_timeout_s)),
    )
    # 429s wait for Retry-After; 5xx and dropped connections are retried a couple of times.
    # Only for calls that are safe to repeat; posts go through the outbox's own client.
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


def _email_lookup(client: WebClient) -> Callable[[str], str | None]:
    """users.lookupByEmail, remembered for an hour (misses too: one call per owner an hour)."""
    found: dict[str, tuple[float, str | None]] = {}

    def lookup(email: str) -> str | None:
        now = time.monotonic()
        if email in found and now - found[email][0] < 3600:
            return found[email][1]
        user: str | None = None
        try:
            user = client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as error:  # users_not_found, or a missing users:read.email scope
            log.info("no Slack user for a document owner's email: %s", error.response.get("error"))
        found[email] = (now, user)
        return user

    return lookup


def check_settings(settings: Settings) -> None:
    token = settings.slack_bot_token or ""
    if not token:
        raise SlackConfigError(
            "SLACK_BOT_TOKEN is not set: copy the bot token (xoxb-…) "
            "from your Slack app's OAuth & Permissions page"
        )
    if not token.startswith("xoxb-"):
        raise SlackConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if settings.slack_app_token:
        if not settings.slack_app_token.startswith("xapp-"):
            raise SlackConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    elif not settings.slack_signing_secret:
        raise SlackConfigError(
            "SLACK_SIGNING_SECRET is required in HTTP mode: copy it from "
            "your Slack app's Basic Information page (or set SLACK_APP_TOKEN "
            "for Socket Mode)"
        )


def register_listeners(
    bolt: App,
    responder: Responder | None,
    service: ConsultationService | None = None,
    notifier: TriageNotifier | None = None,
    runs: ChecklistRuns | None = None,
    workers: AnswerWorkers | None = None,
    intake: QuestionIntake | None = None,
    review_notifier: ReviewNotifier | None = None,
) -> Registrar:
    registrar = Registrar(bolt)
    if intake is not None:
        # First: a question is stored before anything else (or bolt's ack) happens.
        bolt.middleware(intake.middleware)
    # Consultations first: its "Ask a CoE expert" handler is the one that counts.
    consultations.register(
        registrar, service, notifier, responder.store if responder else None, runs
    )
    commands.register(
        registrar, responder, responder.workshops if responder else None, workers, intake
    )
    enablement.register(registrar, responder, runs)
    reviews.register(registrar, review_notifier)
    actions.register(registrar, responder)
    events.register(registrar, workers)
    shortcuts.register(registrar, workers, intake)
    assistant.register(registrar, workers)
    return registrar


def listener_registry() -> Registrar:
    """What the app listens to, without tokens or a network: for `coe manifest`."""
    bolt = App(token="xoxb-manifest", signing_secret="manifest", token_verification_enabled=False)
    return register_listeners(bolt, None)


def build_app(services: Services) -> SlackApp:
    settings = services.settings
    check_settings(settings)
    answers, store = services.answers, services.store
    client = web_client(settings)
    try:
        bolt = App(
            client=client,
            signing_secret=settings.slack_signing_secret or "socket-mode",
            process_before_response=False,
        )
    except Exception as error:  # bolt raises BoltError when auth.test refuses the token
        raise SlackConfigError(f"Slack refused the bot token: {error}") from None
    staff = StaffDirectory(settings.staff_user_ids, settings.staff_usergroup_id, client)
    workshops = services.workshops
    runs = services.checklist_runs
    telemetry = Telemetry()
    responder = Responder(answers, store, staff, services.limiter, workshops, telemetry)
    outbox = Outbox(store, lease_s=settings.slack_timeout_s + 15)

    def index_served() -> tuple[int, datetime | None]:
        manifest = answers.index.manifest
        return manifest.generation, manifest.created_at

    telemetry.watch(outbox.counts, index_served)
    deliverer = Deliverer(
        delivery_client(settings.slack_bot_token, settings.slack_api_url, settings.slack_timeout_s),
        outbox,
        renderers={},
        backoff_base_s=settings.delivery_backoff_s,
        on_failure=telemetry.slack_failed,
    )
    jobs = QuestionJobs(store)
    workers = AnswerWorkers(
        responder,
        jobs,
        deliverer,
        client,
        threads=settings.answer_workers,
        max_attempts=settings.delivery_max_attempts,
    )
    service = services.consultations(staff.is_staff)
    notifier = TriageNotifier(deliverer, service, settings.triage_channel_id)
    review_notifier = ReviewNotifier(
        deliverer,
        services.reviews,
        lambda: answers.index.manifest.by_source(),
        settings.owners_file,
        settings.review_notice_days,
        settings.triage_channel_id,
        nearest_docs=lambda question: [
            p.chunk.doc_id for p in answers.passages(question, staff=True, k=3)
        ],
        digest_day=settings.review_digest_day,
        lookup_email=_email_lookup(client),
    )
    intake = QuestionIntake(jobs, store.bot_in_thread)
    registrar = register_listeners(
        bolt, responder, service, notifier, runs, workers, intake, review_notifier
    )

    def on_error(error: Exception, body: dict) -> None:
        # After an ack nobody else will tell the person: say so, with a reference to quote.
        reference = new_reference()
        with about(reference):
            log.error(
                "a Slack listener failed, reference %s: %s: %s",
                reference,
                type(error).__name__,
                error,
                exc_info=error,
            )
            tell_about_error(client, body, reference, settings.help_channel)

    bolt.error(on_error)
    registrar.after_ack_error = on_error
    return SlackApp(
        bolt,
        registrar,
        responder,
        service,
        notifier,
        workshops,
        runs,
        workers,
        deliverer,
        store,
        telemetry,
        claims=services.claims,
        retention_days=settings.retention_days,
        shared_index=services.shared_index,
        reviews=review_notifier,
        review_every_s=settings.review_check_min * 60,
    )


def tell_about_error(
    client: WebClient, body: dict, reference: str, help_channel: str = "#ai-coe-help"
) -> None:
    event = body.get("event") or {}
    user = (body.get("user") or {}).get("id") or body.get("user_id") or event.get("user")
    channel = (
        (body.get("channel") or {}).get("id")
        or (body.get("container") or {}).get("channel_id")
        or body.get("channel_id")
        or event.get("channel")
    )
    if user:
        tell_privately(
            client, user, channel, blocks.listener_error_message(reference, help_channel)
        )
