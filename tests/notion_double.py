"""A local stand-in for Notion's API (Notion-Version 2025-09-03): pages, blocks, databases
with their data sources, and users, held in memory and answered in Notion's documented shapes.

    double = NotionDouble().start()
    root = double.add_page("Handbook", [paragraph("Welcome.")])
    child = double.add_page("Intake", [todo("Fill in the form")], parent=root)
    double.edit(child, [paragraph("New text")])     # last_edited_time moves on a minute
    double.archive(child)                           # in the trash: no longer listed
    double.purge(child)                             # gone: 404 everywhere
    double.rate_limit(times=2, retry_after="1")     # the next 2 requests get 429
    double.bad_token = True                         # every request gets 401
    double.fail(f"/v1/blocks/{page}/children", "close")  # that path: connection dropped
    double.fail(f"/v1/blocks/{page}/children", 503)      # ... or that status, every time
    double.fail(f"/v1/pages/{page}", "garbled")     # gzip-encoded, says it; it is not
    double.login_page = True                        # every request: 200 with an HTML page

Served: GET /v1/pages/{id}, GET /v1/blocks/{id}/children, GET /v1/databases/{id},
POST /v1/data_sources/{id}/query, GET /v1/users/{id}. Lists are paginated (`page_size`, at
most `double.page_size`; `next_cursor` is the id of the next result). Every request is kept
in `double.requests`. Timestamps start on 2025-01-06 and move one minute per change, so that
none of them is "recent" unless a test says so.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

VERSION = "2025-09-03"
TOKEN = "ntn_test_secret"
_START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head>"
    b"<body><form action='/login'><input name='user'><input type='password'></form></body></html>"
)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


def rich(text: str, link: str | None = None) -> list[dict[str, Any]]:
    """A rich-text array of one run of text, as Notion returns it."""
    return [
        {
            "type": "text",
            "text": {"content": text, "link": {"url": link} if link else None},
            "annotations": {
                "bold": False, "italic": False, "strikethrough": False, "underline": False,
                "code": False, "color": "default",
            },
            "plain_text": text,
            "href": link,
        }
    ]  # fmt: skip


def _text_block(kind: str, text: str, children: tuple[dict, ...] = (), **extra: Any) -> dict:
    return {"type": kind, kind: {"rich_text": rich(text), "color": "default", **extra},
            "children": list(children)}  # fmt: skip


def paragraph(text: str, *children: dict) -> dict:
    return _text_block("paragraph", text, children)


def heading(level: int, text: str) -> dict:
    return _text_block(f"heading_{level}", text, is_toggleable=False)


def bullet(text: str, *children: dict) -> dict:
    return _text_block("bulleted_list_item", text, children)


def numbered(text: str, *children: dict) -> dict:
    return _text_block("numbered_list_item", text, children)


def todo(text: str, checked: bool = False) -> dict:
    return _text_block("to_do", text, checked=checked)


def quote(text: str) -> dict:
    return _text_block("quote", text)


def callout(text: str) -> dict:
    return _text_block("callout", text, icon={"type": "emoji", "emoji": "💡"})


def toggle(text: str, *children: dict) -> dict:
    return _text_block("toggle", text, children)


def code(text: str, language: str = "python") -> dict:
    return {"type": "code", "code": {"rich_text": rich(text), "caption": [],
            "language": language}, "children": []}  # fmt: skip


def divider() -> dict:
    return {"type": "divider", "divider": {}, "children": []}


def image(url: str, caption: str = "") -> dict:
    return {"type": "image", "image": {"type": "external", "external": {"url": url},
            "caption": rich(caption) if caption else []}, "children": []}  # fmt: skip


def columns(*contents: list[dict]) -> dict:
    """A column list: one column per list of blocks."""
    cells = [{"type": "column", "column": {}, "children": list(c)} for c in contents]
    return {"type": "column_list", "column_list": {}, "children": cells}


def table(rows: list[list[str]], header: bool = True) -> dict:
    width = max(len(r) for r in rows)
    cells = [
        {"type": "table_row", "table_row": {"cells": [rich(c) for c in row]}, "children": []}
        for row in rows
    ]
    return {"type": "table", "table": {"table_width": width, "has_column_header": header,
            "has_row_header": False}, "children": cells}  # fmt: skip


class NotionDouble:
    def __init__(self, token: str = TOKEN, page_size: int = 100) -> None:
        self.token = token
        self.page_size = page_size
        self.bad_token = False
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._minutes = itertools.count(1)
        self._pages: dict[str, dict] = {}
        self._blocks: dict[str, dict] = {}  # every block, pages' child_page blocks too
        self._children: dict[str, list[str]] = {}  # parent id → child block ids, in order
        self._databases: dict[str, dict] = {}
        self._rows: dict[str, list[str]] = {}  # data source id → page ids
        self._users: dict[str, str] = {}  # id → name
        self._limited: int | None = 0  # requests still to rate-limit; None: every one
        self._retry_after = "1"
        self._after: list[tuple[str, Callable[[], None]]] = []
        self._failing: dict[str, str | int] = {}  # path → "close" or an HTTP status
        self.login_page = False
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET", {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8") if length else ""
                self._serve("POST", json.loads(raw) if raw else {})

            def _serve(self, method: str, body: dict) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                request = Request(method, url.path, query, body)
                if double._fault(request, self):
                    return
                status, payload, headers = double._answer(request, dict(self.headers.items()))
                double._run_after(url.path)  # before the client hears back: no race with it
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """The base URL a client is given (it adds /v1/ itself)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> NotionDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the workspace ----------------------------------------------------------------------------

    def _stamp(self) -> str:
        return (_START + timedelta(minutes=next(self._minutes))).strftime("%Y-%m-%dT%H:%M:00.000Z")

    def _user(self, name: str) -> dict:
        user_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, name))
        self._users[user_id] = name
        return {"object": "user", "id": user_id}

    def add_page(
        self,
        title: str,
        blocks: list[dict] | None = None,
        parent: str | None = None,
        tags: list[str] | None = None,
        editor: str = "Priya Raman",
        database: str | None = None,
    ) -> str:
        """A page below `parent` (a page's or a block's id), a row of `database`, or at the
        workspace's top."""
        with self._lock:
            page_id = str(uuid.uuid4())
            stamp = self._stamp()
            properties: dict[str, Any] = {"title": {"id": "title", "type": "title",
                                                    "title": rich(title)}}  # fmt: skip
            if tags is not None:
                properties["Tags"] = {"id": "tg", "type": "multi_select", "multi_select": [
                    {"id": str(i), "name": t, "color": "default"} for i, t in enumerate(tags)]}  # fmt: skip
            if database is not None:
                source = self._databases[database]["data_sources"][0]["id"]
                where = {"type": "data_source_id", "data_source_id": source,
                         "database_id": database}  # fmt: skip
                self._rows[source].append(page_id)
            elif parent is not None:
                # A page inside a column or a toggle has a block as its parent.
                key = "page_id" if parent in self._pages else "block_id"
                where = {"type": key, key: parent}
                self._attach(parent, page_id, "child_page", {"title": title}, stamp)
            else:
                where = {"type": "workspace", "workspace": True}
            slug = "-".join(title.split())
            self._pages[page_id] = {
                "object": "page", "id": page_id, "created_time": stamp,
                "last_edited_time": stamp, "created_by": self._user(editor),
                "last_edited_by": self._user(editor), "cover": None, "icon": None,
                "parent": where, "archived": False, "in_trash": False, "is_locked": False,
                "properties": properties, "url": f"https://www.notion.so/{slug}-{page_id.replace('-', '')}",
                "public_url": None,
            }  # fmt: skip
            self._children[page_id] = []
            self._append(page_id, blocks or [], stamp)
            return page_id

    def add_database(self, title: str, parent: str | None = None) -> str:
        """A database with one data source, on page `parent` (or at the top)."""
        with self._lock:
            database_id, source_id = str(uuid.uuid4()), str(uuid.uuid4())
            stamp = self._stamp()
            self._databases[database_id] = {
                "object": "database", "id": database_id, "title": rich(title),
                "created_time": stamp, "last_edited_time": stamp, "in_trash": False,
                "is_inline": False, "data_sources": [{"id": source_id, "name": title}],
                "parent": {"type": "page_id", "page_id": parent} if parent
                else {"type": "workspace", "workspace": True},
                "url": f"https://www.notion.so/{database_id.replace('-', '')}",
            }  # fmt: skip
            self._rows[source_id] = []
            if parent is not None:
                self._attach(parent, database_id, "child_database", {"title": title}, stamp)
            return database_id

    def data_source_of(self, database_id: str) -> str:
        return self._databases[database_id]["data_sources"][0]["id"]

    def edit(self, page_id: str, blocks: list[dict], title: str | None = None,
             at: datetime | None = None) -> None:  # fmt: skip
        """Replaces the page's content; its last_edited_time moves on (to `at` if given)."""
        with self._lock:
            self._drop_blocks(page_id)
            page = self._pages[page_id]
            stamp = at.strftime("%Y-%m-%dT%H:%M:00.000Z") if at else self._stamp()
            page["last_edited_time"] = stamp
            if title is not None:
                page["properties"]["title"]["title"] = rich(title)
            self._append(page_id, blocks, stamp)

    def archive(self, page_id: str) -> None:
        """Moves the page to the trash: still retrievable (`in_trash`), no longer listed."""
        with self._lock:
            page = self._pages[page_id]
            page["archived"] = page["in_trash"] = True
            page["last_edited_time"] = self._stamp()
            self._detach(page_id)

    def purge(self, page_id: str) -> None:
        """Deletes the page for good: every request about it gets 404."""
        with self._lock:
            self._detach(page_id)
            self._drop_blocks(page_id)
            del self._pages[page_id]

    def rate_limit(self, times: int | None, retry_after: str = "1") -> None:
        """The next `times` requests (None: every request from now on) get 429."""
        with self._lock:
            self._limited = times
            self._retry_after = retry_after

    def fail(self, path: str, how: str | int) -> None:
        """Every request for `path` fails: "close" drops the connection without an answer;
        "garbled" answers 200 with a body that is not the gzip it says it is; a number is
        answered as that status (503: Notion's service_unavailable)."""
        with self._lock:
            self._failing[path] = how

    def _fault(self, request: Request, handler: BaseHTTPRequestHandler) -> bool:
        """Answers a request that a fault applies to; False when none does."""
        with self._lock:
            how = self._failing.get(request.path)
            if how is None and not self.login_page:
                return False
            request.status = 0 if how == "close" else 200 if how in (None, "garbled") else int(how)
            self.requests.append(request)
        if how == "close":
            handler.close_connection = True
            return True
        data, kind = LOGIN_PAGE, "text/html; charset=utf-8"
        if how == "garbled":
            data, kind = b"not gzip at all", "application/json"
            handler.send_response(200)
            handler.send_header("Content-Encoding", "gzip")
        elif how is not None:
            code = "service_unavailable" if how == 503 else "internal_server_error"
            data = json.dumps(_error(request.status, code, "Unavailable.")).encode()
            kind = "application/json"
        if how != "garbled":
            handler.send_response(request.status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
        return True

    def after(self, path: str, action: Callable[[], None]) -> None:
        """Runs `action` once, when the first request for `path` has been answered (before the
        answer is sent, so the client's next request already sees what it did)."""
        with self._lock:
            self._after.append((path, action))

    def of(self, kind: str) -> list[Request]:
        """The answered requests of one kind: "pages", "blocks", "databases", "query", "users"."""
        suffix = "/query" if kind == "query" else ""
        prefix = "/v1/data_sources/" if kind == "query" else f"/v1/{kind}/"
        return [r for r in self.requests if r.path.startswith(prefix)
                and r.path.endswith(suffix) and r.status == 200]  # fmt: skip

    def children_requested(self) -> list[str]:
        """The ids whose block children were read (one entry per request, pages included)."""
        return [r.path.split("/")[3] for r in self.of("blocks") if r.path.endswith("/children")]

    def url_of(self, page_id: str) -> str:
        return self._pages[page_id]["url"]

    def block_ids(self, page_id: str, kind: str | None = None) -> list[str]:
        """The ids of the blocks below a page (of one `kind`), nested ones included, not
        those of its subpages."""
        with self._lock:
            found, pending = [], list(self._children.get(page_id, []))
            while pending:
                block_id = pending.pop(0)
                if self._blocks[block_id]["type"] in ("child_page", "child_database"):
                    continue
                if kind is None or self._blocks[block_id]["type"] == kind:
                    found.append(block_id)
                pending.extend(self._children.get(block_id, []))
            return found

    def top_block_ids(self, page_id: str) -> list[str]:
        with self._lock:
            return list(self._children.get(page_id, []))

    def children_json(self, block_id: str) -> list[dict]:
        """The blocks directly below a page or block, as the API returns them (unpaginated)."""
        with self._lock:
            return copy.deepcopy([self._blocks[b] for b in self._children.get(block_id, [])])

    # -- storage ---------------------------------------------------------------------------------

    def _attach(self, parent: str, object_id: str, kind: str, payload: dict, stamp: str) -> None:
        self._blocks[object_id] = self._block(object_id, parent, kind, payload, stamp)
        self._children.setdefault(parent, []).append(object_id)

    def _detach(self, object_id: str) -> None:
        for siblings in [*self._children.values(), *self._rows.values()]:
            if object_id in siblings:
                siblings.remove(object_id)

    def _block(self, block_id: str, parent: str, kind: str, payload: dict, stamp: str) -> dict:
        return {
            "object": "block", "id": block_id,
            "parent": {"type": "page_id" if parent in self._pages else "block_id",
                       ("page_id" if parent in self._pages else "block_id"): parent},
            "created_time": stamp, "last_edited_time": stamp,
            "created_by": {"object": "user", "id": "u"}, "last_edited_by": {"object": "user", "id": "u"},
            "has_children": False, "archived": False, "in_trash": False, "type": kind, kind: payload,
        }  # fmt: skip

    def _append(self, parent: str, blocks: list[dict], stamp: str) -> None:
        for given in blocks:
            given = copy.deepcopy(given)
            children = given.pop("children", [])
            kind = given["type"]
            block_id = str(uuid.uuid4())
            self._attach(parent, block_id, kind, given[kind], stamp)
            if children:
                self._blocks[block_id]["has_children"] = True
                self._append(block_id, children, stamp)

    def _drop_blocks(self, parent: str) -> None:
        for block_id in self._children.get(parent, []):
            if self._blocks[block_id]["type"] not in ("child_page", "child_database"):
                self._drop_blocks(block_id)
                del self._blocks[block_id]
        self._children[parent] = [
            b for b in self._children.get(parent, [])
            if self._blocks.get(b, {}).get("type") in ("child_page", "child_database")
        ]  # fmt: skip

    # -- answering -------------------------------------------------------------------------------

    def _answer(self, request: Request, headers: dict[str, str]) -> tuple[int, dict, dict]:
        with self._lock:
            status, payload, extra = self._decide(request, headers)
            request.status = status
            self.requests.append(request)
            return status, payload, extra

    def _decide(self, request: Request, headers: dict[str, str]) -> tuple[int, dict, dict]:
        lowered = {k.lower(): v for k, v in headers.items()}
        if self._limited is None or self._limited > 0:
            if self._limited is not None:
                self._limited -= 1
            return (429, _error(429, "rate_limited", "You have been rate limited."),
                    {"Retry-After": self._retry_after})  # fmt: skip
        if self.bad_token or lowered.get("authorization") != f"Bearer {self.token}":
            return 401, _error(401, "unauthorized", "API token is invalid."), {}
        if lowered.get("notion-version") != VERSION:
            return 400, _error(400, "validation_error", "Notion-Version is not supported."), {}
        return self._route(request)

    def _route(self, request: Request) -> tuple[int, dict, dict]:
        parts = request.path.strip("/").split("/")
        if parts[:1] != ["v1"] or len(parts) < 3:
            return 400, _error(400, "invalid_request_url", "Invalid request URL."), {}
        kind, object_id, rest = parts[1], parts[2], parts[3:]
        if request.method == "GET" and kind == "pages" and not rest:
            return self._found(self._pages.get(object_id), "page", object_id)
        if request.method == "GET" and kind == "blocks" and rest == ["children"]:
            return self._list_children(object_id, request.query)
        if request.method == "GET" and kind == "databases" and not rest:
            return self._found(self._databases.get(object_id), "database", object_id)
        if request.method == "POST" and kind == "data_sources" and rest == ["query"]:
            return self._query(object_id, request.body)
        if request.method == "GET" and kind == "users" and not rest:
            name = self._users.get(object_id)
            user = {"object": "user", "id": object_id, "type": "person", "name": name,
                    "avatar_url": None, "person": {"email": "someone@example.com"}}  # fmt: skip
            return self._found(user if name else None, "user", object_id)
        return 400, _error(400, "invalid_request_url", "Invalid request URL."), {}

    def _found(self, thing: dict | None, what: str, object_id: str) -> tuple[int, dict, dict]:
        if thing is None:
            message = (f"Could not find {what} with ID: {object_id}. Make sure the relevant "
                       "pages and databases are shared with your integration.")  # fmt: skip
            return 404, _error(404, "object_not_found", message), {}
        return 200, copy.deepcopy(thing), {}

    def _list_children(self, block_id: str, query: dict[str, str]) -> tuple[int, dict, dict]:
        if block_id not in self._pages and block_id not in self._blocks:
            return self._found(None, "block", block_id)
        ids = self._children.get(block_id, [])
        blocks = [self._blocks[i] for i in ids]
        return self._paged(blocks, query.get("start_cursor"), query.get("page_size"), "block")

    def _query(self, source_id: str, body: dict) -> tuple[int, dict, dict]:
        if source_id not in self._rows:
            return self._found(None, "data source", source_id)
        rows = [self._pages[i] for i in self._rows[source_id] if not self._pages[i]["in_trash"]]
        return self._paged(rows, body.get("start_cursor"), body.get("page_size"),
                           "page_or_data_source")  # fmt: skip

    def _paged(self, results: list[dict], cursor: str | None, size: Any,
               kind: str) -> tuple[int, dict, dict]:  # fmt: skip
        start = 0
        if cursor:
            ids = [r["id"] for r in results]
            if cursor not in ids:
                return 400, _error(400, "validation_error", "start_cursor is invalid."), {}
            start = ids.index(cursor)
        count = min(int(size or 100), 100, self.page_size)
        page = results[start : start + count]
        more = start + count < len(results)
        return 200, {
            "object": "list", "results": copy.deepcopy(page),
            "next_cursor": results[start + count]["id"] if more else None,
            "has_more": more, "type": kind, kind: {}, "request_id": str(uuid.uuid4()),
        }, {}  # fmt: skip

    def _run_after(self, path: str) -> None:
        with self._lock:
            due = [a for a in self._after if a[0] == path]
            self._after = [a for a in self._after if a[0] != path]
        for _, action in due:
            action()


def _error(status: int, code: str, message: str) -> dict:
    return {"object": "error", "status": status, "code": code, "message": message,
            "request_id": str(uuid.uuid4())}  # fmt: skip
