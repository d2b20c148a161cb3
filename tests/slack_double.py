"""A local stand-in for Slack's Web API: records every call and answers like Slack does.

Modelled on slackapi/bolt-python's mock_web_api_server, but on port 0 and thread-safe.

It keeps a message store like Slack's: `chat.postMessage` stores what the bot posted,
`chat.update` edits it, `chat.delete` removes it, and `conversations.history` /
`conversations.replies` answer from it. Faults are queued per method and consumed in order:

    double.fail("chat.postMessage", status=500, times=5)   # five 500s, then OK
    double.drop("chat.postMessage")                        # then one connection closed unanswered
    double.delay("chat.postMessage", 3)                    # then one posted, but answered 3 s late

`"*"` as the method queues a fault for any Web API method whose own queue is empty.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOT_USER = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A1"
# Arguments that form bodies carry as JSON strings (slack_sdk sends JSON for some methods).
JSON_ARGUMENTS = ("blocks", "attachments", "metadata", "prompts", "view")


@dataclass
class Call:
    method: str
    body: dict
    at: float = field(default_factory=time.monotonic)
    fault: str | None = None  # "status 500", "drop", "delay 3.0s", … when a fault answered it


@dataclass
class Fault:
    """One queued misbehaviour: an error status, a dropped connection, or a late answer."""

    kind: str  # "status" | "drop" | "delay"
    times: int = 1
    status: int = 500
    retry_after: int | None = None
    error: str | None = None
    seconds: float = 0.0
    perform: bool = False  # drop only: carry the call out before dropping the connection

    def describe(self) -> str:
        if self.kind == "status":
            return f"status {self.status}"
        return "drop" if self.kind == "drop" else f"delay {self.seconds}s"


@dataclass
class _Answer:
    status: int
    payload: dict
    headers: dict = field(default_factory=dict)
    drop: bool = False
    delay: float = 0.0


def _truthy(value) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ts_key(ts: str) -> Decimal:
    return Decimal(str(ts))


def dm_channel(user_id: str) -> str:
    """The id of the bot's DM channel with a user: stable per user ("U123" → "D123")."""
    return "D" + user_id[1:]


class SlackDouble:
    def __init__(
        self, staff_group_members: list[str] | None = None, channels: list[str] | None = None
    ) -> None:
        self.calls: list[Call] = []
        self.faults: dict[str, deque[Fault]] = {}
        self.bad_token = False
        self.group_members = staff_group_members or []
        self.users_by_email: dict[str, str] = {}  # users.lookupByEmail
        self._ts = itertools.count(1)
        self._lock = threading.Lock()
        self._newest = Decimal(0)
        # channel id → messages in the order of their ts; a channel is known once it is listed
        # here (posted to, opened as a DM, given to the constructor or to add_channel).
        self._store: dict[str, list[dict]] = {channel: [] for channel in channels or []}
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                body = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._serve(url.path, body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    query = urlsplit(self.path).query
                    body.update({k: v[0] for k, v in parse_qs(query).items() if k not in body})
                self._serve(urlsplit(self.path).path, body)

            def _serve(self, path: str, body: dict) -> None:
                for key in JSON_ARGUMENTS:
                    if isinstance(body.get(key), str) and body[key][:1] in ("{", "["):
                        body[key] = json.loads(body[key])
                method = path.strip("/").removeprefix("api/")
                answer = double._answer(method, body)
                if answer.drop:
                    self.close_connection = True  # no status line: the client sees a reset
                    return
                if answer.delay:
                    time.sleep(answer.delay)
                data = json.dumps(answer.payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a delayed answer)

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

    # -- scripting faults -----------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 429,
        retry_after: int | None = 1,
        error: str | None = None,
        times: int = 1,
    ) -> SlackDouble:
        """Queues `times` answers of `status` ({"ok": false, "error": …}) for `method`."""
        return self._queue(method, Fault("status", times, status, retry_after, error))

    def drop(self, method: str, times: int = 1, perform: bool = False) -> SlackDouble:
        """Queues `times` requests that are read and recorded, then closed without an answer.

        With `perform`, each is also carried out first (Slack posted, the answer was lost).
        """
        return self._queue(method, Fault("drop", times, perform=perform))

    def delay(self, method: str, seconds: float, times: int = 1) -> SlackDouble:
        """Queues `times` requests carried out at once but answered only after `seconds`."""
        return self._queue(method, Fault("delay", times, seconds=seconds))

    def clear_faults(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self.faults.clear()
            else:
                self.faults.pop(method, None)

    def _queue(self, method: str, fault: Fault) -> SlackDouble:
        if fault.times > 0:
            with self._lock:
                self.faults.setdefault(method, deque()).append(fault)
        return self

    def _next_fault(self, method: str) -> Fault | None:
        """The fault to apply to this call of `method`, consumed (lock held)."""
        for key in (method, "*"):
            queue = self.faults.get(key)
            if key == "*" and not method.count("."):
                continue  # response_url posts are not Web API methods
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.popleft()
                return fault
        return None

    # -- answering --------------------------------------------------------------------------------

    def _answer(self, method: str, body: dict) -> _Answer:
        with self._lock:
            fault = self._next_fault(method)
            self.calls.append(Call(method, body, fault=fault.describe() if fault else None))
            if fault and fault.kind == "status":
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                error = fault.error or ("ratelimited" if fault.status == 429 else "internal_error")
                return _Answer(fault.status, {"ok": False, "error": error}, headers)
            if fault and fault.kind == "drop" and not fault.perform:
                return _Answer(0, {}, drop=True)
            status, payload, headers = self._perform(method, body, self._next_ts())
        if fault and fault.kind == "drop":
            return _Answer(0, {}, drop=True)
        return _Answer(status, payload, headers, delay=fault.seconds if fault else 0.0)

    def _next_ts(self) -> str:
        """A fresh ts from the clock, later than every message stored so far, as Slack's are
        (lock held). Real times matter: readers ask for history newer than a moment."""
        next(self._ts)
        ts = Decimal(f"{time.time():.6f}")
        self._newest = max(ts, self._newest + Decimal("0.000001"))
        return f"{self._newest:.6f}"

    def _perform(self, method: str, body: dict, ts: str) -> tuple[int, dict, dict]:
        """Carries out one call (lock held) and returns Slack's answer."""
        if method == "auth.test":
            if self.bad_token:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return (
                200,
                {
                    "ok": True,
                    "user_id": BOT_USER,
                    "bot_id": BOT_ID,
                    "team_id": "T1",
                    "user": "coe",
                    "team": "Acme",
                    "url": "https://acme.slack.com/",
                },
                {},
            )
        if method == "chat.postMessage":
            return 200, self._post(body, ts), {}
        if method == "chat.update":
            return 200, self._update(body, ts), {}
        if method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            return 200, self._stream(method, body, ts), {}
        if method == "chat.delete":
            return 200, self._delete(body), {}
        if method == "conversations.history":
            return 200, self._history(body), {}
        if method == "conversations.replies":
            return 200, self._replies(body), {}
        if method == "chat.postEphemeral":
            return 200, {"ok": True, "message_ts": ts}, {}
        if method == "conversations.open":
            users = str(body.get("users") or "").split(",")
            if len(users) != 1 or not users[0]:
                return 200, {"ok": True, "channel": {"id": "GMPIM" + ts[-6:]}}, {}
            channel = dm_channel(users[0])
            self._store.setdefault(channel, [])
            return 200, {"ok": True, "channel": {"id": channel}}, {}
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
            return 200, {"ok": True, "view": {"id": f"V{ts[-6:]}", **(view or {})}}, {}
        if method == "usergroups.users.list":
            return 200, {"ok": True, "users": self.group_members}, {}
        if method == "users.lookupByEmail":
            found = self.users_by_email.get(str(body.get("email", "")).lower())
            if found is None:
                return 200, {"ok": False, "error": "users_not_found"}, {}
            return 200, {"ok": True, "user": {"id": found, "profile": {}}}, {}
        return 200, {"ok": True}, {}

    # -- the message store (lock held) ------------------------------------------------------------

    def _channel_of(self, channel: str | None) -> str:
        channel = str(channel or "")
        return dm_channel(channel) if channel.startswith(("U", "W")) else channel

    def _find(self, channel: str, ts: str | None) -> dict | None:
        return next((m for m in self._store.get(channel, []) if m["ts"] == ts), None)

    def _post(self, body: dict, ts: str) -> dict:
        channel = self._channel_of(body.get("channel"))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        thread_ts = body.get("thread_ts") or None
        stored = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "thread_ts": thread_ts,
            "text": body.get("text") or "",
            "blocks": body.get("blocks"),
            "metadata": body.get("metadata"),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
        }
        messages = self._store.setdefault(channel, [])
        messages.append(stored)
        messages.sort(key=lambda m: _ts_key(m["ts"]))
        return {"ok": True, "channel": channel, "ts": ts, "message": self._shown(stored, True)}

    def _stream(self, method: str, body: dict, ts: str) -> dict:
        """Slack's streaming messages: started with text, appended to, then stopped (with
        blocks and metadata); a stopped stream takes no more text."""
        channel = self._channel_of(body.get("channel"))
        text = str(body.get("markdown_text") or "")
        text += "".join(
            str(c.get("text") or "") for c in body.get("chunks") or [] if isinstance(c, dict)
        )
        if method == "chat.startStream":
            if not body.get("thread_ts"):
                return {"ok": False, "error": "invalid_arguments"}
            answer = self._post({**body, "text": text, "blocks": None}, ts)
            stored = self._find(answer["channel"], ts)
            if stored is not None:
                stored["streaming"] = True
            return {"ok": True, "channel": answer["channel"], "ts": ts}
        stored = self._find(channel, body.get("ts"))
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        if not stored.get("streaming"):
            return {"ok": False, "error": "message_not_in_streaming_state"}
        stored["text"] += text
        if method == "chat.stopStream":
            stored["streaming"] = False
            for key in ("blocks", "metadata"):
                if key in body:
                    stored[key] = body[key]
        return {"ok": True, "channel": channel, "ts": stored["ts"]}

    def _update(self, body: dict, ts: str) -> dict:
        channel = self._channel_of(body.get("channel"))
        if channel not in self._store:
            return {"ok": False, "error": "channel_not_found"}
        stored = self._find(channel, body.get("ts"))
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        for key in ("text", "blocks", "metadata"):
            if key in body:
                stored[key] = body[key]
        stored["edited"] = {"user": BOT_USER, "ts": ts}
        return {
            "ok": True,
            "channel": channel,
            "ts": stored["ts"],
            "text": stored["text"],
            "message": self._shown(stored, True),
        }

    def _delete(self, body: dict) -> dict:
        channel = self._channel_of(body.get("channel"))
        if channel not in self._store:
            return {"ok": False, "error": "channel_not_found"}
        stored = self._find(channel, body.get("ts"))
        if stored is None:
            return {"ok": False, "error": "message_not_found"}
        self._store[channel].remove(stored)
        return {"ok": True, "channel": channel, "ts": stored["ts"]}

    def _shown(self, message: dict, with_metadata: bool) -> dict:
        """A stored message as the Web API shows it."""
        shown = {
            k: copy.deepcopy(v)
            for k, v in message.items()
            if v is not None and k != "channel" and (with_metadata or k != "metadata")
        }
        replies = [
            m
            for m in self._store.get(message["channel"], [])
            if m.get("thread_ts") == message["ts"] and m["ts"] != message["ts"]
        ]
        if replies:
            users = list(dict.fromkeys(m["user"] for m in replies))
            shown.update(
                thread_ts=message["ts"],
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=replies[-1]["ts"],
            )
        elif message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            parent = self._find(message["channel"], message["thread_ts"])
            if parent is not None:
                shown["parent_user_id"] = parent["user"]
        return shown

    def _window(self, messages: list[dict], body: dict) -> list[dict]:
        """Messages between `oldest` and `latest` (exclusive unless `inclusive`)."""
        inclusive = _truthy(body.get("inclusive"))
        oldest = _ts_key(body["oldest"]) if body.get("oldest") else None
        latest = _ts_key(body["latest"]) if body.get("latest") else None

        def inside(message: dict) -> bool:
            ts = _ts_key(message["ts"])
            if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
                return False
            return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))

        return [m for m in messages if inside(m)]

    def _page(self, key: str, messages: list[dict], body: dict, default_limit: int) -> dict:
        """One page: `limit` messages from `cursor` (an offset), as Slack paginates."""
        limit = int(body.get("limit") or default_limit) or default_limit
        start = int(body.get("cursor") or 0)
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        with_metadata = _truthy(body.get("include_all_metadata"))
        return {
            "ok": True,
            key: [self._shown(m, with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _history(self, body: dict) -> dict:
        channel = body.get("channel")
        if channel not in self._store:
            return {"ok": False, "error": "channel_not_found"}
        top = [
            m for m in self._store[channel] if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
        ]
        newest_first = list(reversed(self._window(top, body)))
        return {**self._page("messages", newest_first, body, 100), "pin_count": 0}

    def _replies(self, body: dict) -> dict:
        channel = body.get("channel")
        if channel not in self._store:
            return {"ok": False, "error": "channel_not_found"}
        parent = self._find(channel, body.get("ts"))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        replies = [
            m
            for m in self._store[channel]
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
        ]
        return self._page("messages", [parent, *self._window(replies, body)], body, 1000)

    # -- arranging the world -----------------------------------------------------------------------

    def add_channel(self, channel: str) -> None:
        """Makes a channel known (empty) so that history and replies answer for it."""
        with self._lock:
            self._store.setdefault(channel, [])

    def add_message(
        self,
        channel: str,
        text: str,
        ts: str,
        user: str = "U1",
        thread_ts: str | None = None,
        metadata: dict | None = None,
        blocks: list | None = None,
    ) -> dict:
        """Stores a message someone else wrote (e.g. the question an event carries)."""
        message = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "thread_ts": thread_ts,
            "text": text,
            "blocks": blocks,
            "metadata": metadata,
            "user": user,
        }
        with self._lock:
            messages = self._store.setdefault(channel, [])
            messages.append(message)
            messages.sort(key=lambda m: _ts_key(m["ts"]))
            self._newest = max(self._newest, _ts_key(ts))
        return copy.deepcopy(message)

    def add_event(self, event: dict) -> dict:
        """Stores the message an `app_mention` / `message` event payload describes."""
        return self.add_message(
            event["channel"],
            event.get("text", ""),
            event["ts"],
            user=event.get("user", "U1"),
            thread_ts=event.get("thread_ts"),
        )

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

    def messages(self, channel: str | None = None) -> list[dict]:
        """Stored messages (each with its `channel`), in one channel or all, oldest first."""
        with self._lock:
            chosen = [
                m
                for name, messages in self._store.items()
                if channel is None or name == channel
                for m in messages
            ]
            return copy.deepcopy(sorted(chosen, key=lambda m: _ts_key(m["ts"])))

    def posted_texts(self, channel: str | None = None) -> list[str]:
        """The text of every message the bot has standing (posted, not deleted), oldest first."""
        return [m["text"] for m in self.messages(channel) if m["user"] == BOT_USER]

    def thread(self, channel: str, ts: str) -> list[dict]:
        """A parent message (if stored) and its replies, oldest first."""
        return [m for m in self.messages(channel) if m["ts"] == ts or m.get("thread_ts") == ts]
