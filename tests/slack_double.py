"""A local stand-in for Slack's Web API: records every call and answers like Slack does.

Modelled on slackapi/bolt-python's mock_web_api_server, but on port 0 and thread-safe.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Call:
    method: str
    body: dict
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    status: int
    retry_after: int | None
    error: str | None
    times: int


class SlackDouble:
    def __init__(self, staff_group_members: list[str] | None = None) -> None:
        self.calls: list[Call] = []
        self.faults: dict[str, Fault] = {}
        self.bad_token = False
        self.group_members = staff_group_members or []
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "prompts"):
                        if isinstance(body.get(key), str):
                            body[key] = json.loads(body[key])
                method = self.path.strip("/").removeprefix("api/")
                status, payload, headers = double._answer(method, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def response_url(self, name: str = "hook") -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/response/{name}"

    def start(self) -> SlackDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        with self._lock:
            self.faults[method] = Fault(status, retry_after, error, times)

    def _answer(self, method: str, body: dict) -> tuple[int, dict, dict]:
        with self._lock:
            self.calls.append(Call(method, body))
            fault = self.faults.get(method)
            if fault and fault.times > 0:
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
                return fault.status, {"ok": False, "error": error}, headers
            ts = f"1700000000.{next(self._ts):06d}"
        if method == "auth.test":
            if self.bad_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return (
                200,
                {
                    "ok": True,
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                    "team_id": "T1",
                    "user": "coe",
                    "team": "Acme",
                    "url": "https://acme.slack.com/",
                },
                {},
            )
        if method == "chat.postMessage":
            return (
                200,
                {
                    "ok": True,
                    "channel": body.get("channel"),
                    "ts": ts,
                    "message": {"text": body.get("text"), "ts": ts},
                },
                {},
            )
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": "DNEW"}}, {}
        if method == "chat.getPermalink":
            return (
                200,
                {
                    "ok": True,
                    "channel": body.get("channel"),
                    "permalink": f"https://acme.slack.com/archives/{body.get('channel')}/p{str(body.get('message_ts', '')).replace('.', '')}",
                },
                {},
            )
        if method in ("views.open", "views.publish", "views.update"):
            view = body.get("view")
            view = json.loads(view) if isinstance(view, str) else view
            body["view"] = view
            return 200, {"ok": True, "view": {"id": f"V{ts[-6:]}", **(view or {})}}, {}
        if method == "usergroups.users.list":
            return 200, {"ok": True, "users": self.group_members}, {}
        return 200, {"ok": True}, {}

    # -- reading what the app did ------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0, **match) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [
                c for c in self.of(method) if all(c.body.get(k) == v for k, v in match.items())
            ]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} {method} call(s) matching {match}, got {self.of(method)}"
        )
