"""Runs the real Slack app over HTTP (uvicorn, in a thread) and sends it signed requests."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlencode

import uvicorn

from bot.container import build
from bot.settings import Settings
from bot.slack.app import SlackApp, build_app
from bot.slack.server import http_app

SECRET = "test-signing-secret"
_event_numbers = itertools.count(1)  # event ids unique across apps and restarts


class Reply(NamedTuple):
    status: int
    body: str


class SignedSender:
    """Sends Slack-signed requests to a running app at `self.url` (RunningApp, ServeProcess).

    Bodies are built exactly as Slack sends them: events as JSON, slash commands as a form,
    interactivity as `payload=<urlencoded JSON>`.
    """

    secret = SECRET
    timeout = 10.0

    @property
    def url(self) -> str:
        raise NotImplementedError

    def get(self, path: str) -> Reply:
        return self._send(urllib.request.Request(f"{self.url}{path}", method="GET"))

    def post(
        self,
        body: bytes | str,
        content_type: str,
        headers: dict | None = None,
        signature: str | None = None,
        timestamp: str | None = None,
    ) -> Reply:
        data = body.encode() if isinstance(body, str) else body
        timestamp = timestamp or str(int(time.time()))
        # Signed over the raw bytes, as Slack does (slack_sdk's helper wants UTF-8 text).
        signature = (
            signature
            or "v0="
            + hmac.new(
                self.secret.encode(), f"v0:{timestamp}:".encode() + data, hashlib.sha256
            ).hexdigest()
        )
        request = urllib.request.Request(
            f"{self.url}/slack/events",
            data=data,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> Reply:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Reply(response.status, response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, error.read().decode())

    def event(
        self, event: dict, event_id: str | None = None, retry_num: int | None = None
    ) -> Reply:
        body = json.dumps(
            {
                "token": "verification-token",
                "team_id": "T1",
                "api_app_id": "A1",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(_event_numbers):08d}{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "authorizations": [
                    {"enterprise_id": None, "team_id": "T1", "user_id": "UBOT", "is_bot": True}
                ],
                "is_ext_shared_channel": False,
            }
        )
        headers = (
            {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
            if retry_num
            else {}
        )
        return self.post(body, "application/json", headers)

    def command(
        self, text: str, user: str = "U1", channel: str = "C1", response_url: str = ""
    ) -> Reply:
        body = urlencode(
            {
                "token": "verification-token",
                "team_id": "T1",
                "team_domain": "acme",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": "someone",
                "command": "/coe",
                "text": text,
                "api_app_id": "A1",
                "response_url": response_url,
                "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            }
        )
        return self.post(body, "application/x-www-form-urlencoded")

    def interaction(self, payload: dict) -> Reply:
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")


class RunningApp(SignedSender):
    def __init__(self, slack: SlackApp) -> None:
        self.slack = slack
        self.store = slack.responder.store
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(http_app(slack), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def mention(
    text: str, ts: str, user: str = "U1", channel: str = "C1", thread_ts: str | None = None
) -> dict:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@UBOT> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": "T1",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    text: str,
    ts: str,
    user: str = "U1",
    channel: str = "C1",
    thread_ts: str | None = None,
    channel_type: str = "channel",
) -> dict:
    event = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
        "team": "T1",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def block_action(
    action_id: str,
    value: str,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str = "1700000000.000001",
    response_url: str = "",
) -> dict:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T1", "domain": "acme"},
        "channel": {"id": channel, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "text": "answer", "user": "UBOT"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "type": "button",
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def all_text(blocks: list[dict]) -> str:
    """Every string inside a Block Kit structure, for checking what a reader would see."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            found.append(node)

    walk(blocks)
    return "\n".join(found)


def start_app(data_dir: Path, api_url: str, db_dir: Path, **overrides) -> RunningApp:
    settings = Settings(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=api_url,
        COE_DATA_DIR=str(db_dir),
        **overrides,
    )
    return RunningApp(build_app(build(settings, index_dir=data_dir)))


def posted_ts(store, reference: str, timeout: float = 10.0) -> str:
    """The ts Slack gave an answer, once the outbox has recorded it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = store.answer(reference)
        if record is not None and record.message_ts:
            return record.message_ts
        time.sleep(0.02)
    raise AssertionError(f"answer {reference} has no message ts")
