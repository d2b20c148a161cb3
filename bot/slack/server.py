"""Serving the app: Socket Mode, or HTTP on uvicorn with /slack/events and /healthz."""

from __future__ import annotations

import logging

from slack_bolt import BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.slack.app import SlackApp

log = logging.getLogger(__name__)


def http_app(slack: SlackApp) -> Starlette:
    async def events(request: Request) -> Response:
        body = (await request.body()).decode("utf-8")
        bolt_request = BoltRequest(body=body, query=request.query_params, headers=request.headers)
        # dispatch verifies the signature and acks; the answer itself runs on bolt's workers.
        bolt_response = await run_in_threadpool(slack.bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        try:
            index = slack.responder.answers.index
        except Exception as error:
            return JSONResponse({"ok": False, "error": str(error)}, status_code=503)
        return JSONResponse({"ok": True, "index": index.generation, "chunks": len(index.chunks)})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def serve_http(slack: SlackApp, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(http_app(slack), host=host, port=port, log_level="info", access_log=False)


def serve_socket_mode(slack: SlackApp, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(slack.bolt, app_token).start()
