"""Sends outbox rows to Slack, exactly once, however Slack misbehaves.

- Every post carries its outbox key in Slack message metadata. When an earlier try may have
  reached Slack (timeout, dropped connection, 5xx, or a holder that died mid-post), the
  conversation is searched for that key before posting again.
- A 429 is waited out by the client; everything else that may pass is retried with backoff.
- A definite refusal for a channel the bot cannot post in sends answers to the asker's DM.
- When a row runs out of tries, the person waiting is told, with the reference.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot.logs import about
from bot.slack import blocks
from bot.slack.private import tell_privately
from bot.work.outbox import Delivery, Outbox, backoff_s

log = logging.getLogger(__name__)

METADATA_EVENT = "coe_delivery"
# Refusals meaning "not here": an answer then goes to the asker's DM instead.
_NOT_HERE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
# Errors Slack reports when it may have done the work anyway, or will soon do it.
_MAYBE = {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
FIRST_UNCERTAIN_RETRY_S = 2.0
# A stream that is already stopped: the stop we are retrying had reached Slack.
_STOPPED = {"message_not_in_streaming_state"}


@dataclass(frozen=True)
class SlackCall:
    """One Web API call a row turns into; `None` from a renderer means nothing to send."""

    method: str  # chat.postMessage | chat.update | response_url
    args: dict


Renderer = Callable[[Delivery], SlackCall | None]
SentHook = Callable[[Delivery, str | None, str | None], None]
FailedHook = Callable[[Delivery, str], None]  # (row, error) after a failed try or giving up


@dataclass(frozen=True)
class Outcome:
    sent: bool
    error: str | None = None
    gave_up: bool = False


class NotReady(Exception):
    """A renderer cannot build the message yet (e.g. no triage channel configured)."""


def render_post(delivery: Delivery) -> SlackCall:
    """A message rendered when it was queued: `payload["message"]` is Message.to_dict()."""
    return SlackCall(
        "chat.postMessage",
        {
            "channel": delivery.channel_id,
            "thread_ts": delivery.thread_ts,
            **delivery.payload["message"],
        },
    )


class _Uncertain(Exception):
    """The call may or may not have reached Slack."""


class _Refused(Exception):
    """Slack answered and did not do it."""

    def __init__(self, code: str, transient: bool) -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient


def delivery_client(token: str | None, base_url: str, timeout_s: float) -> WebClient:
    """A client that never retries by itself where the first try may have landed."""
    client = WebClient(token=token, base_url=base_url, timeout=int(max(1, timeout_s)))
    client.retry_handlers.clear()
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
    return client


def _metadata(key: str) -> dict:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key}}


def _classify(error: Exception) -> Exception:
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = str((error.response.data or {}).get("error", "")) if error.response else ""
        if status == 429 or code == "ratelimited":
            return _Refused(code or "ratelimited", transient=True)
        if status >= 500 or code in _MAYBE:
            return _Uncertain(f"Slack answered {status} {code}".strip())
        return _Refused(code or f"status {status}", transient=False)
    # Timeouts, resets and refused connections: we cannot know what Slack received.
    return _Uncertain(f"{type(error).__name__}: {error}")


class Deliverer:
    def __init__(
        self,
        client: WebClient,
        outbox: Outbox,
        renderers: dict[str, Renderer],
        on_sent: dict[str, SentHook] | None = None,
        on_retry: dict[str, FailedHook] | None = None,
        on_gave_up: dict[str, FailedHook] | None = None,
        backoff_base_s: float = 5.0,
        on_failure: Callable[[str, str], None] | None = None,
    ) -> None:
        self.backoff_base_s = backoff_base_s
        # (kind, "retried" | "gave_up") for every failed try: the app's /metrics counts them.
        self.on_failure = on_failure
        self.client = client
        self.outbox = outbox
        self.renderers = renderers
        self.on_sent = on_sent or {}
        self.on_retry = on_retry or {}
        self.on_gave_up = on_gave_up or {}

    # -- one row ---------------------------------------------------------------------------

    def deliver(self, outbox_id: int) -> Outcome | None:
        """Claims and tries one row; None when someone else holds it or it is not due."""
        delivery = self.outbox.claim(outbox_id)
        if delivery is None:
            return None
        with about(delivery.reference):
            return self._deliver(delivery)

    def _deliver(self, delivery: Delivery) -> Outcome:
        try:
            return self._attempt(delivery)
        except Exception as error:  # a renderer or hook broke: keep the row, retry later
            log.exception(
                "delivery %s (ref %s) failed unexpectedly", delivery.key, delivery.reference
            )
            return self._retry(delivery, f"{type(error).__name__}: {error}", uncertain=True)

    def _attempt(self, delivery: Delivery) -> Outcome:
        renderer = self.renderers.get(delivery.kind)
        if renderer is None:
            self.outbox.failed(delivery.id, f"no renderer for {delivery.kind}")
            return Outcome(False, f"no renderer for {delivery.kind}", gave_up=True)
        try:
            call = renderer(delivery)
        except NotReady as error:
            return self._retry(delivery, str(error), uncertain=False)
        if call is None:
            self.outbox.sent(delivery.id, None, None)
            return Outcome(True)
        if delivery.uncertain and call.method == "chat.postMessage":
            found = self._find_posted(delivery, call)
            if found is not None:
                log.info(
                    "delivery %s (ref %s) had reached Slack already; not posting it again",
                    delivery.key,
                    delivery.reference,
                )
                return self._sent(delivery, *found)
        try:
            channel, ts = self._call(delivery, call)
        except _Uncertain as error:
            return self._retry(delivery, str(error), uncertain=True)
        except _Refused as error:
            if call.method == "chat.stopStream" and error.code in _STOPPED:
                if delivery.attempts > 1:
                    # An earlier try did stop it (its answer was lost): the message is done.
                    return self._sent(delivery, call.args["channel"], call.args["ts"])
                # Slack ended the stream itself: the sources and buttons follow as a reply.
                return self._attempt_as_post(delivery, call)
            if not error.transient and error.code in _NOT_HERE:
                fallback = delivery.payload.get("dm_fallback_user")
                if fallback and delivery.channel_id != fallback:
                    log.info(
                        "delivery %s (ref %s): %s in %s; sending it to %s's DM instead",
                        delivery.key,
                        delivery.reference,
                        error.code,
                        delivery.channel_id,
                        fallback,
                    )
                    self.outbox.redirect(delivery.id, fallback, None)
                    return self.deliver(delivery.id) or Outcome(False, error.code)
            if error.transient:
                return self._retry(delivery, error.code, uncertain=False)
            return self._give_up(delivery, f"Slack refused it: {error.code}")
        return self._sent(delivery, channel, ts)

    def _attempt_as_post(self, delivery: Delivery, call: SlackCall) -> Outcome:
        message = dict(delivery.payload.get("message") or {})
        text = str(call.args.get("markdown_text") or "")
        if text:
            message["text"] = text
        post = SlackCall(
            "chat.postMessage",
            {"channel": call.args["channel"], "thread_ts": delivery.thread_ts, **message},
        )
        try:
            channel, ts = self._call(delivery, post)
        except _Uncertain as error:
            return self._retry(delivery, str(error), uncertain=True)
        except _Refused as error:
            if error.transient:
                return self._retry(delivery, error.code, uncertain=False)
            return self._give_up(delivery, f"Slack refused it: {error.code}")
        return self._sent(delivery, channel, ts)

    def _call(self, delivery: Delivery, call: SlackCall) -> tuple[str | None, str | None]:
        try:
            if call.method == "chat.postMessage":
                response = self.client.chat_postMessage(
                    **call.args, metadata=_metadata(delivery.key)
                )
                return response.get("channel"), response.get("ts")
            if call.method == "chat.stopStream":
                args = dict(call.args)
                self.client.chat_stopStream(**args, metadata=_metadata(delivery.key))
                return args["channel"], args["ts"]
            if call.method == "chat.update":
                response = self.client.chat_update(**call.args)
                return response.get("channel"), response.get("ts")
            if call.method == "response_url":
                args = dict(call.args)
                webhook = WebhookClient(args.pop("url"), timeout=self.client.timeout)
                reply = webhook.send_dict(args)
                if reply.status_code == 404:
                    raise _Refused("response_url expired", transient=False)
                if reply.status_code >= 500:
                    raise _Uncertain(f"response_url answered {reply.status_code}")
                if reply.status_code >= 400:
                    raise _Refused(f"response_url answered {reply.status_code}", transient=False)
                return None, None
        except (_Uncertain, _Refused):
            raise
        except Exception as error:
            raise _classify(error) from None
        raise ValueError(f"unknown Slack call {call.method}")

    def _find_posted(self, delivery: Delivery, call: SlackCall) -> tuple[str, str] | None:
        """Looks in the conversation for a message carrying this row's key."""
        channel = str(call.args.get("channel") or "")
        thread_ts = call.args.get("thread_ts")
        try:
            if channel[:1] in ("U", "W"):
                channel = self.client.conversations_open(users=channel)["channel"]["id"]
            if thread_ts:
                response = self.client.conversations_replies(
                    channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
                )
            else:
                oldest = (delivery.created_at - timedelta(minutes=2)).timestamp()
                response = self.client.conversations_history(
                    channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=200
                )
        except Exception as error:
            # Cannot look: posting again risks a duplicate, not posting risks a loss. A
            # duplicate is the lesser harm, and the log says why it may happen.
            log.warning(
                "could not check whether delivery %s (ref %s) reached Slack: %s",
                delivery.key,
                delivery.reference,
                error,
            )
            return None
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("key") == delivery.key:
                return channel, message.get("ts")
        return None

    # -- outcomes --------------------------------------------------------------------------

    def _sent(self, delivery: Delivery, channel: str | None, ts: str | None) -> Outcome:
        if not self.outbox.sent(delivery.id, channel, ts):
            log.warning("delivery %s was taken over while it was being sent", delivery.key)
        hook = self.on_sent.get(delivery.kind)
        if hook is not None:
            hook(delivery, channel, ts)
        return Outcome(True)

    def _retry(self, delivery: Delivery, error: str, uncertain: bool) -> Outcome:
        if delivery.last_attempt:
            return self._give_up(delivery, error)
        delay = (
            min(FIRST_UNCERTAIN_RETRY_S, self.backoff_base_s)
            if uncertain and delivery.attempts == 1
            else backoff_s(delivery.attempts, self.backoff_base_s)
        )
        log.warning(
            "delivery %s (ref %s) try %d failed: %s; trying again in %.0f s",
            delivery.key,
            delivery.reference or "-",
            delivery.attempts,
            error,
            delay,
        )
        self.outbox.retry(delivery.id, error, uncertain, delay)
        if self.on_failure is not None:
            self.on_failure(delivery.kind, "retried")
        hook = self.on_retry.get(delivery.kind)
        if hook is not None:
            hook(delivery, error)
        return Outcome(False, error)

    def _give_up(self, delivery: Delivery, error: str) -> Outcome:
        log.error(
            "delivery %s (ref %s) given up after %d tries: %s",
            delivery.key,
            delivery.reference or "-",
            delivery.attempts,
            error,
        )
        self.outbox.failed(delivery.id, error)
        if self.on_failure is not None:
            self.on_failure(delivery.kind, "gave_up")
        hook = self.on_gave_up.get(delivery.kind)
        if hook is not None:
            hook(delivery, error)
        self._tell_waiting_user(delivery)
        return Outcome(False, error, gave_up=True)

    def _tell_waiting_user(self, delivery: Delivery) -> None:
        """The asker hears that it failed, with the reference: ephemeral where possible."""
        if delivery.user_id and delivery.reference:
            tell_privately(
                self.client,
                delivery.user_id,
                delivery.channel_id,
                blocks.delivery_failed_message(delivery.reference),
                delivery.thread_ts,
            )

    # -- many rows -------------------------------------------------------------------------

    def run_due(self, kinds: tuple[str, ...] | None = None) -> tuple[int, int]:
        """One sweep over due rows; returns (sent, not sent)."""
        sent = failed = 0
        for outbox_id in self.outbox.due(kinds):
            outcome = self.deliver(outbox_id)
            if outcome is None:
                continue
            if outcome.sent:
                sent += 1
            else:
                failed += 1
        return sent, failed
