"""A local stand-in for an OpenAI-compatible chat-completions server: records every request
and answers from scripted replies, on the same wire format as OpenAI's API.

In the style of `tests/slack_double.py`: a ThreadingHTTPServer on 127.0.0.1, port 0,
thread-safe, with every request recorded. Replies are queued and consumed in order; once the
queue is empty, `default` answers:

    with LLMDouble() as llm:
        llm.script(Reply("Hello"), Reply(status=429, retry_after=2), Reply(stall_s=5))
        client = OpenAI(base_url=llm.base_url, api_key="test", max_retries=0)

A reply can also misbehave: an error status (with `Retry-After`), a stall before the answer,
a slow or stalled stream, or a malformed answer (see `Reply`).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MODEL = "coe-test-model"
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

# OpenAI's error `type` and `code` for the statuses a reply is most often scripted with.
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    404: ("invalid_request_error", "not_found", "Not found."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", "service_unavailable", "The engine is currently overloaded."),
}


@dataclass
class Reply:
    """One scripted answer to a chat-completions request.

    A status of 400 or more answers an OpenAI-style error body (`text`, when given, is its
    message). Otherwise `text` (or the joined `chunks`) is the assistant's content; a stream
    sends `chunks` as they are, or else `text` in pieces of `chunk_chars` characters.
    """

    text: str = ""
    chunks: list[str] | None = None
    chunk_chars: int = 12
    status: int = 200
    retry_after: float | None = None  # seconds, sent as the `Retry-After` header
    stall_s: float = 0.0  # wait before sending anything, headers included
    chunk_delay_s: float = 0.0  # wait between streamed content chunks
    stall_after_chunks: int | None = None  # streams: after this many content chunks ...
    stall_mid_s: float = 60.0  # ... wait this long (closing the double ends the wait)
    malformed: bool = False  # a stream breaks off with a bad event; a body is not JSON
    prompt_tokens: int | None = None  # default: the words of all message contents
    completion_tokens: int | None = None  # default: the words of the content

    def content(self) -> str:
        if self.text or self.chunks is None:
            return self.text
        return "".join(self.chunks)

    def pieces(self) -> list[str]:
        """The content deltas of a stream."""
        if self.chunks is not None:
            return list(self.chunks)
        size = max(1, self.chunk_chars)
        text = self.text
        return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class Request:
    """One request the double received. Header names are lower-cased."""

    path: str
    method: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    reply: Reply | None = None  # the reply that answered a chat-completions request


def _words(text: str) -> int:
    return len(text.split())


def _message_text(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts with text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text") or "")
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def _prompt_words(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(_words(_message_text(m.get("content"))) for m in messages if isinstance(m, dict))


def _error_body(status: int, message: str | None = None) -> dict[str, Any]:
    kind, code, default = _ERRORS.get(
        status,
        ("server_error" if status >= 500 else "invalid_request_error", None, f"Error {status}."),
    )
    return {"error": {"message": message or default, "type": kind, "param": None, "code": code}}


def _seconds(value: float) -> str:
    return f"{value:g}"


class _Closed(Exception):
    """The double is closing: the answer is abandoned."""


class LLMDouble:
    def __init__(self, models: list[str] | None = None) -> None:
        self.models: list[str] = list(models) if models else [DEFAULT_MODEL]
        # The reply when nothing is scripted: a Reply, or a callable given the request body.
        self.default: Reply | Callable[[dict[str, Any]], Reply] = Reply("I do not know.")
        self._queue: deque[Reply | Callable[[dict[str, Any]], Reply]] = deque()
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._ids = itertools.count(1)
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def _serve(self, method: str) -> None:
                self.close_connection = True  # one request a connection: no pool surprises
                path = urlsplit(self.path).path.rstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                    bad_json = not isinstance(body, dict)
                except ValueError:
                    body, bad_json = {}, True
                if bad_json:
                    body = {}
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(path, method, headers, body)
                try:
                    if method == "POST" and path == CHAT_PATH:
                        if bad_json:
                            double._record(request)
                            self._json(400, _error_body(400, "The body is not a JSON object."))
                        else:
                            self._chat(request)
                    elif method == "GET" and path == MODELS_PATH:
                        double._record(request)
                        self._json(200, double._models_body())
                    else:
                        double._record(request)
                        message = f"Unknown request URL: {method} {path}."
                        self._json(404, _error_body(404, message))
                except (_Closed, ConnectionError, TimeoutError):
                    pass  # the double is closing, or the client hung up (a timeout)

            # -- writing ------------------------------------------------------------------------

            def _head(self, status: int, content_type: str, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("x-request-id", f"req_double{next(double._ids)}")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Connection", "close")

            def _json(
                self, status: int, payload: Any, headers: dict[str, str] | None = None
            ) -> None:
                self._raw(status, json.dumps(payload).encode(), headers)

            def _raw(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
                self._head(status, "application/json", headers or {})
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()

            def _event(self, data: str) -> None:
                self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()

            # -- chat completions ---------------------------------------------------------------

            def _chat(self, request: Request) -> None:
                reply = double._next_reply(request)
                body = request.body
                double._sleep(reply.stall_s)
                if reply.status >= 400:
                    headers: dict[str, str] = {}
                    if reply.retry_after is not None:
                        headers["Retry-After"] = _seconds(reply.retry_after)
                    self._json(reply.status, _error_body(reply.status, reply.text or None), headers)
                    return
                model = str(body.get("model") or double.models[0])
                content = reply.content()
                prompt = (
                    reply.prompt_tokens if reply.prompt_tokens is not None else _prompt_words(body)
                )
                completion = (
                    reply.completion_tokens
                    if reply.completion_tokens is not None
                    else _words(content)
                )
                usage = {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
                ident = f"chatcmpl-double{next(double._ids)}"
                created = int(time.time())
                if body.get("stream"):
                    options = body.get("stream_options")
                    with_usage = isinstance(options, dict) and bool(options.get("include_usage"))
                    self._stream(reply, ident, created, model, usage if with_usage else None)
                    return
                if reply.malformed:
                    self._raw(200, b"not json")
                    return
                self._json(
                    200,
                    {
                        "id": ident,
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "system_fingerprint": None,
                        "choices": [
                            {
                                "index": 0,
                                "message": {
                                    "role": "assistant",
                                    "content": content,
                                    "refusal": None,
                                },
                                "logprobs": None,
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    },
                )

            def _stream(
                self,
                reply: Reply,
                ident: str,
                created: int,
                model: str,
                usage: dict[str, int] | None,
            ) -> None:
                def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
                    event: dict[str, Any] = {
                        "id": ident,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "system_fingerprint": None,
                        "choices": [
                            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                        ],
                    }
                    if usage is not None:
                        event["usage"] = None
                    return json.dumps(event)

                # No Content-Length: the body ends when the connection closes.
                self._head(200, "text/event-stream; charset=utf-8", {"Cache-Control": "no-cache"})
                self.end_headers()
                self._event(chunk({"role": "assistant", "content": "", "refusal": None}))
                pieces = reply.pieces()
                if reply.malformed and not pieces:
                    self._event("{not json")
                    return
                for sent, piece in enumerate(pieces, start=1):
                    if sent > 1:
                        double._sleep(reply.chunk_delay_s)
                    if reply.stall_after_chunks == sent - 1:
                        double._sleep(reply.stall_mid_s)
                    self._event(chunk({"content": piece}))
                    if reply.malformed:
                        self._event("{not json")  # and no [DONE]: the connection just closes
                        return
                if reply.stall_after_chunks is not None and reply.stall_after_chunks >= len(pieces):
                    double._sleep(reply.stall_mid_s)
                self._event(chunk({}, "stop"))
                if usage is not None:
                    self._event(
                        json.dumps(
                            {
                                "id": ident,
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": model,
                                "system_fingerprint": None,
                                "choices": [],
                                "usage": usage,
                            }
                        )
                    )
                self._event("[DONE]")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._closed = False
        self._thread.start()

    # -- the public side -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | Callable[[dict[str, Any]], Reply]) -> LLMDouble:
        """Queues replies for the next chat-completions requests, answered in order. A
        callable is given the request body and returns the reply (e.g. to cite a passage by
        the number the prompt gave it)."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def remaining(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order of arrival (a copy)."""
        with self._lock:
            return list(self._requests)

    def chat_requests(self) -> list[dict[str, Any]]:
        """The bodies of the POST /v1/chat/completions requests received so far."""
        return [r.body for r in self.requests if r.method == "POST" and r.path == CHAT_PATH]

    def close(self) -> None:
        """Stops the server; stalled answers are abandoned. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LLMDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------------

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_reply(self, request: Request) -> Reply:
        with self._lock:
            scripted = self._queue.popleft() if self._queue else self.default
            reply = scripted if isinstance(scripted, Reply) else scripted(request.body)
            request.reply = reply
            self._requests.append(request)
            return reply

    def _models_body(self) -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {"id": model, "object": "model", "created": 0, "owned_by": "double"}
                for model in self.models
            ],
        }

    def _sleep(self, seconds: float) -> None:
        """Waits, unless the double closes first (then the answer is abandoned)."""
        if seconds > 0 and self._closing.wait(seconds):
            raise _Closed


def source_number(body: dict[str, Any], title: str) -> int:
    """The number the grounded prompt in `body` gave the first passage whose header has
    `title` (a test cites the passage a real model would)."""
    prompt = "\n".join(str(m.get("content") or "") for m in body.get("messages", []))
    for line in prompt.splitlines():
        if line.startswith("[") and "] " in line and title.lower() in line.lower():
            return int(line[1 : line.index("]")])
    raise AssertionError(f"no source titled {title!r} in the prompt")


def citing(title: str, *sentences: str, **reply: Any) -> Callable[[dict[str, Any]], Reply]:
    """A scripted reply whose sentences cite the passage titled `title`: "{n}" in a sentence
    becomes that passage's number, so "… [{n}]." is a correct citation."""

    def make(body: dict[str, Any]) -> Reply:
        n = source_number(body, title)
        return Reply(" ".join(s.replace("{n}", str(n)) for s in sentences), **reply)

    return make


def quoting_model(invent: str = "") -> Callable[[dict[str, Any]], Reply]:
    """A stand-in for a real model: answers with the first full line of source [1], cited,
    and, if given, one invented sentence (which verification must drop)."""

    def make(body: dict[str, Any]) -> Reply:
        prompt = str(body["messages"][0]["content"])
        if "Sources:" not in prompt:  # a follow-up rewrite or a check
            return Reply(str(body["messages"][-1]["content"]))
        block = prompt.split("\n[1] ", 1)[1].split("\n[2] ", 1)[0]
        for line in block.splitlines()[1:]:
            text = line.strip().removeprefix("- [ ]").removeprefix("-").strip()
            if len(text.split()) >= 5 and not text.startswith("|"):
                text = re.split(r"(?<=[.!?])\s+", text)[0].rstrip(".;:")
                return Reply(f"{text} [1]. {invent}".strip())
        return Reply("NOT_IN_SOURCES")

    return make
