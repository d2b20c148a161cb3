"""Serving the app: HTTP on uvicorn (/slack/events, /healthz, /readyz) or Socket Mode.

The HTTP edge refuses junk before anything parses it: the body is capped, the signature is
checked on the raw bytes, and only then is the body decoded and parsed. A refused request
costs one short log line; its body is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import signal
import threading
import time
from urllib.parse import parse_qs

from slack_bolt import BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.slack.app import SlackApp
from bot.telemetry import CONTENT_TYPE

log = logging.getLogger(__name__)

MAX_CLOCK_SKEW_S = 300  # Slack's own rule: older signed requests may be replays
GRACEFUL_HTTP_S = 5


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _Refused(413, "body over the size limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, "body over the size limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _check_signature(secret: bytes, headers, raw: bytes) -> None:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes them first, which
    turns a body that is not UTF-8 into a crash instead of a refusal)."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    signature = headers.get("x-slack-signature") or ""
    if not timestamp.isdigit() or not signature:
        raise _Refused(401, "missing or malformed signature headers")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:
        raise _Refused(401, "stale timestamp")
    expected = (
        "v0="
        + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    )
    if not hmac.compare_digest(expected, signature):
        raise _Refused(401, "bad signature")


def _check_shape(raw: bytes, content_type: str) -> str:
    """Decodes and parses once, so bolt only ever sees a body it can read."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(400, "body is not UTF-8") from None
    try:
        if "application/json" in content_type:
            parsed = json.loads(text)
            if not isinstance(parsed, dict):
                raise _Refused(400, "JSON body is not an object")
            return text
        form = parse_qs(text, strict_parsing=bool(text), max_num_fields=200)
        if "payload" in form:
            payload = json.loads(form["payload"][0])
            if not isinstance(payload, dict):
                raise _Refused(400, "payload is not a JSON object")
        return text
    except (ValueError, RecursionError):
        raise _Refused(400, "body cannot be parsed") from None


def http_app(slack: SlackApp, max_body_bytes: int = 1024 * 1024) -> Starlette:
    secret = (slack.bolt._signing_secret or "").encode()

    async def events(request: Request) -> Response:
        try:
            raw = await _read_capped(request, max_body_bytes)
            _check_signature(secret, request.headers, raw)
            body = _check_shape(raw, request.headers.get("content-type", ""))
        except _Refused as refused:
            client = request.client.host if request.client else "?"
            log.info("refused a request from %s: %s (%d)", client, refused.reason, refused.status)
            return PlainTextResponse(refused.reason, status_code=refused.status)
        # BoltRequest is typed for plain dicts. Pairs from items(), not dict(headers): bolt
        # read the starlette mapping that way, so a repeated header keeps its last value.
        bolt_request = BoltRequest(
            body=body,
            query=dict(request.query_params),
            headers=dict(request.headers.items()),
        )
        # dispatch stores questions, acks, and leaves answering to the workers.
        bolt_response = await run_in_threadpool(slack.bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        # Liveness only: the process answers. What it depends on is /readyz's business.
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        checks = await run_in_threadpool(readiness, slack)
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        body = await run_in_threadpool(slack.telemetry.render)
        return Response(body, media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ]
    )


def readiness(slack: SlackApp) -> dict[str, str]:
    """Each dependency as "ok" or "failing"; the why goes to the log, never to the caller."""
    checks: dict[str, str] = {}

    def check(name: str, probe) -> None:
        try:
            probe()
            checks[name] = "ok"
        except Exception as error:
            log.warning("readiness: %s failing: %s: %s", name, type(error).__name__, error)
            checks[name] = "failing"

    answers = slack.responder.answers
    check("index", lambda: answers.index)
    check("database", slack.store.ping)
    check("search", lambda: answers.passages("readiness probe", staff=False, k=1))
    if slack.shared_index is not None:
        # Answers come from memory, but a new generation or a new replica needs the server.
        check("chroma", slack.shared_index.ping_chroma)
    checks["accepting"] = "failing" if slack.workers.stopping else "ok"
    return checks


def serve_http(slack: SlackApp, host: str, port: int, max_body_bytes: int, drain_s: float) -> bool:
    """Serves until SIGTERM/SIGINT, then finishes answers in progress; True if all did."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame) -> None:
            slack.workers.begin_stop()  # readiness fails at once; nothing new is started
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        http_app(slack, max_body_bytes),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_HTTP_S,
    )
    # uvicorn re-raises the signal it caught once it has stopped, which would end the process
    # before the answers in progress are finished: let that re-raise land here harmlessly.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    Server(config).run()
    return _drain(slack, drain_s)


def serve_socket_mode(slack: SlackApp, app_token: str, drain_s: float) -> bool:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    handler = SocketModeHandler(slack.bolt, app_token)
    handler.connect()
    stop.wait()
    slack.workers.begin_stop()
    handler.close()
    return _drain(slack, drain_s)


def _drain(slack: SlackApp, drain_s: float) -> bool:
    started = time.monotonic()
    finished = slack.stop(drain_s)
    took = time.monotonic() - started
    if finished:
        log.info("stopped cleanly: answers in progress finished in %.1f s", took)
    else:
        log.warning(
            "stopped after %.0f s with answers still in progress; the next start resumes them",
            took,
        )
    return finished
