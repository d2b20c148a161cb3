"""Builds the bolt app with every listener, a Web API client and its retry policy."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.answering.service import AnswerService
from bot.consultations.service import ConsultationService
from bot.db.store import Store
from bot.enablement.runs import ChecklistRuns
from bot.enablement.workshops import WorkshopService
from bot.settings import Settings
from bot.slack.limits import PerUserLimiter
from bot.slack.listeners import (
    actions,
    assistant,
    commands,
    consultations,
    enablement,
    events,
    shortcuts,
)
from bot.slack.registry import Registrar
from bot.slack.responder import Responder
from bot.slack.staff import StaffDirectory
from bot.slack.triage import TriageNotifier

log = logging.getLogger(__name__)


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


def web_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    # 429s wait for Retry-After; 5xx and dropped connections are retried a couple of times.
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ]
    )
    return client


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
) -> Registrar:
    registrar = Registrar(bolt)
    # Consultations first: its "Ask a CoE expert" handler is the one that counts.
    consultations.register(
        registrar, service, notifier, responder.store if responder else None, runs
    )
    commands.register(registrar, responder, responder.workshops if responder else None)
    enablement.register(registrar, responder, runs)
    for module in (events, actions, shortcuts, assistant):
        module.register(registrar, responder)
    return registrar


def listener_registry() -> Registrar:
    """What the app listens to, without tokens or a network: for `coe manifest`."""
    bolt = App(token="xoxb-manifest", signing_secret="manifest", token_verification_enabled=False)
    return register_listeners(bolt, None)


def build_app(settings: Settings, answers: AnswerService, store: Store) -> SlackApp:
    check_settings(settings)
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
    workshops = WorkshopService(store)
    runs = ChecklistRuns(store)
    responder = Responder(
        answers, store, staff, PerUserLimiter(settings.rate_limit_per_minute), workshops
    )
    service = ConsultationService(store, staff.is_staff, settings.sla_working_days)
    notifier = TriageNotifier(client, service, settings.triage_channel_id)
    registrar = register_listeners(bolt, responder, service, notifier, runs)

    @bolt.error
    def on_error(error: Exception, body: dict) -> None:
        log.error("unhandled error in a Slack listener: %s", error, exc_info=error)

    return SlackApp(bolt, registrar, responder, service, notifier, workshops, runs)
