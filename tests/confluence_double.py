"""A local stand-in for Confluence's REST API (v1), answering in its documented shapes.

Cloud sites are served below `/wiki` and authenticate with Basic (email:API token); Data
Center at the root with a bearer personal access token. The endpoints are the ones a
source reads:

    GET /rest/api/space/{key}                       one space, or 404
    GET /rest/api/content/search?cql=…&expand=…     `space = "KEY" and type = page|attachment`,
                                                    paged by start/limit and `_links.next`
    GET /rest/api/content/{id}?expand=body.storage  one page, or 404 once deleted
    GET /download/attachments/{page id}/{file}      an attachment's bytes

Every request is logged (`requests`). Faults:

    double.wrong_credentials = True         # 401 for everything
    double.rate_limit(2, retry_after="1")   # the next two requests get 429, then normal
    double.rate_limit(None)                 # 429 for ever
    double.page_size = 2                    # the server's cap on `limit`
    double.vanish_after_listing(page_id)    # deleted as soon as a listing has shown it
    double.unavailable(2, status=503)       # the next two requests get 503, then normal
    double.fail_body(page_id, "close")      # that page's body: connection closed, every time
    double.fail_body(page_id, 503)          # ... or that status, every time
    double.hide_restriction(page_id, "group")           # its listing lacks restrictions' group
    double.hide_restriction(page_id, "group", "results")  # ... or the group's results list
    double.login_page = True                # every request: 200 with a proxy's HTML login page

A listing asked to expand both read-restriction lists (user and group) always carries both,
as `{"results": [...], ...}`, empty when nobody is named.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

USERNAME = "coe-bot@acme.example"
TOKEN = "atlassian-test-token-7f3a"
MAX_LIMIT = 200
SEARCH = "/rest/api/content/search"
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head>"
    b"<body><form action='/login'><input name='user'><input type='password'></form></body></html>"
)


@dataclass
class Page:
    id: str
    space: str
    title: str
    body: str  # storage format
    parent: str | None = None
    labels: list[str] = field(default_factory=list)
    editor: str = "Ana Lima"
    version: int = 1
    when: str = "2026-01-05T09:30:00.000Z"
    read_users: list[str] = field(default_factory=list)
    read_groups: list[str] = field(default_factory=list)


@dataclass
class Attachment:
    id: str
    page: str
    title: str
    data: bytes
    media_type: str
    version: int = 1


@dataclass
class Request:
    method: str
    path: str  # below the site's context (no /wiki)
    query: dict[str, str]
    headers: dict[str, str]
    at: float
    status: int = 0


class ConfluenceDouble:
    def __init__(self, cloud: bool = True) -> None:
        self.cloud = cloud
        self.requests: list[Request] = []
        self.wrong_credentials = False
        self.page_size: int | None = None
        self.spaces: dict[str, str] = {}
        self.pages: dict[str, Page] = {}
        self.attachments: dict[str, Attachment] = {}
        self._limited: int | None = 0  # 429s left to give; None: for ever
        self._retry_after: str | None = None
        self._vanishing: set[str] = set()
        self._unavailable: tuple[int, int] = (0, 503)  # (requests left, status)
        self._failing: dict[str, str | int] = {}  # page id → "close" or a status
        self._hidden: dict[str, tuple[str, str]] = {}  # page id → (user|group, key|results)
        self.login_page = False
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                answer = double._answer(self.path, dict(self.headers.items()))
                if answer is None:  # the connection is dropped without an answer
                    self.close_connection = True
                    return
                status, headers, body = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                # The client may stop reading (a page over its size limit).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The site's base URL, as a user configures it."""
        root = f"http://127.0.0.1:{self._server.server_address[1]}"
        return root + "/wiki" if self.cloud else root

    def start(self) -> ConfluenceDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- content ------------------------------------------------------------------------
    def add_space(self, key: str, name: str = "") -> None:
        self.spaces[key] = name or key

    def add_page(
        self,
        space: str,
        title: str,
        body: str,
        *,
        parent: str | None = None,
        labels: list[str] | None = None,
        editor: str = "Ana Lima",
        read_groups: list[str] | None = None,
        read_users: list[str] | None = None,
    ) -> str:
        with self._lock:
            page = Page(
                str(next(self._ids)),
                space,
                title,
                body,
                parent=parent,
                labels=list(labels or []),
                editor=editor,
                read_groups=list(read_groups or []),
                read_users=list(read_users or []),
            )
            self.pages[page.id] = page
            return page.id

    def edit(self, page_id: str, body: str, editor: str = "Bruno Costa") -> None:
        """A new version: number bumped, dated a day later."""
        with self._lock:
            page = self.pages[page_id]
            page.body, page.editor = body, editor
            page.version += 1
            page.when = f"2026-01-{5 + page.version:02d}T09:30:00.000Z"

    def delete(self, page_id: str) -> None:
        with self._lock:
            del self.pages[page_id]

    def restrict(
        self, page_id: str, groups: list[str] | None = None, users: list[str] | None = None
    ) -> None:
        """Sets the page's own read restriction; Confluence does not bump the version."""
        with self._lock:
            self.pages[page_id].read_groups = list(groups or [])
            self.pages[page_id].read_users = list(users or [])

    def add_attachment(self, page_id: str, title: str, data: bytes, media_type: str) -> str:
        with self._lock:
            attachment = Attachment(f"att{next(self._ids)}", page_id, title, data, media_type)
            self.attachments[attachment.id] = attachment
            return attachment.id

    # -- faults -------------------------------------------------------------------------
    def rate_limit(self, times: int | None, retry_after: str | None = "0") -> None:
        with self._lock:
            self._limited, self._retry_after = times, retry_after

    def vanish_after_listing(self, page_id: str) -> None:
        self._vanishing.add(page_id)

    def unavailable(self, times: int, status: int = 503) -> None:
        """The next `times` requests get `status` (a 5xx), without Retry-After."""
        with self._lock:
            self._unavailable = (times, status)

    def fail_body(self, page_id: str, how: str | int) -> None:
        """Every request for the page's body fails: "close" drops the connection unanswered,
        a number is answered as that HTTP status."""
        with self._lock:
            self._failing[page_id] = how

    def hide_restriction(self, page_id: str, kind: str, what: str = "key") -> None:
        """The page's listing entry lacks its read restriction's `kind` ("user" or "group"):
        the whole key ("key"), or only its `results` list ("results"), as when not expanded."""
        with self._lock:
            self._hidden[page_id] = (kind, what)

    # -- the log ------------------------------------------------------------------------
    def body_requests(self) -> list[Request]:
        return [
            r
            for r in self.requests
            if re.fullmatch(r"/rest/api/content/[^/]+", r.path) and r.path != SEARCH
        ]

    def search_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path == SEARCH]

    # -- answering ----------------------------------------------------------------------
    def _answer(
        self, target: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes] | None:
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        context = "/wiki" if self.cloud else ""
        inside = path.startswith(context + "/")
        request = Request("GET", path.removeprefix(context), query, headers, time.monotonic())
        with self._lock:
            self.requests.append(request)
            if self.login_page:
                request.status = 200
                return 200, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE
            left, unavailable = self._unavailable
            if left > 0:
                self._unavailable = (left - 1, unavailable)
                request.status = unavailable
                return unavailable, {"Content-Type": "text/html"}, b"<h1>Service Unavailable</h1>"
            failing = re.fullmatch(r"/rest/api/content/([^/]+)", request.path)
            body_of = failing.group(1) if failing and request.path != SEARCH else None
            how = self._failing.get(body_of) if body_of else None
            if how == "close":
                return None
            if isinstance(how, int):
                request.status = how
                return (
                    how,
                    {"Content-Type": "application/json"},
                    json.dumps(_error(how, "Service Unavailable")).encode(),
                )
            status, extra, body = self._route(request, inside, headers)
        request.status = status
        if isinstance(body, bytes):
            return status, {"Content-Type": "application/octet-stream", **extra}, body
        return status, {"Content-Type": "application/json", **extra}, json.dumps(body).encode()

    def _route(
        self, request: Request, inside: bool, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], dict | bytes]:
        if self._limited is None or self._limited > 0:
            if self._limited is not None:
                self._limited -= 1
            extra = {"Retry-After": self._retry_after} if self._retry_after is not None else {}
            return 429, extra, _error(429, "Rate limit exceeded")
        if not self._authorized(headers):
            return 401, {"WWW-Authenticate": "Basic"}, _error(401, "Unauthorized")
        if not inside:
            return 404, {}, _error(404, "Not found")
        path = request.path
        if match := re.fullmatch(r"/rest/api/space/([^/]+)", path):
            return self._space(match.group(1))
        if path == SEARCH:
            return self._search(request.query)
        if match := re.fullmatch(r"/rest/api/content/([^/]+)", path):
            return self._content(match.group(1), _expand(request.query))
        if match := re.fullmatch(r"/download/attachments/([^/]+)/([^/]+)", path):
            return self._download(match.group(1), match.group(2))
        return 404, {}, _error(404, f"No endpoint {path}")

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.wrong_credentials:
            return False
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if self.cloud:
            expected = base64.b64encode(f"{USERNAME}:{TOKEN}".encode()).decode()
            return given == f"Basic {expected}"
        return given == f"Bearer {TOKEN}"

    def _space(self, key: str) -> tuple[int, dict[str, str], dict]:
        if key not in self.spaces:
            return 404, {}, _error(404, f"No space with key : {key}")
        links = {"webui": f"/spaces/{key}", "self": f"{self.url}/rest/api/space/{key}"}
        return (
            200,
            {},
            {
                "id": 98000 + len(key),
                "key": key,
                "name": self.spaces[key],
                "type": "global",
                "status": "current",
                "_links": links,
            },
        )

    def _search(self, query: dict[str, str]) -> tuple[int, dict[str, str], dict]:
        cql = query.get("cql", "")
        space = re.search(r'space\s*=\s*"([^"]*)"', cql)
        kind = re.search(r"type\s*=\s*(\w+)", cql)
        if space is None or kind is None:
            return 400, {}, _error(400, f"Could not parse cql : {cql}")
        expand = _expand(query)
        if kind.group(1) == "page":
            found = [
                self._page_json(p, expand) for p in self.pages.values() if p.space == space.group(1)
            ]
        else:
            found = [
                self._attachment_json(a, expand)
                for a in self.attachments.values()
                if a.page in self.pages and self.pages[a.page].space == space.group(1)
            ]
        start = int(query.get("start", "0"))
        limit = min(int(query.get("limit", "25")), self.page_size or MAX_LIMIT)
        shown = found[start : start + limit]
        for entry in shown:
            if entry["id"] in self._vanishing:
                self.pages.pop(entry["id"], None)
        links = {
            "base": self.url,
            "context": "/wiki" if self.cloud else "",
            "self": f"{self.url}/rest/api/content/search?{urlencode(query)}",
        }
        if start + limit < len(found):
            following = {**query, "start": str(start + limit), "limit": str(limit)}
            links["next"] = "/rest/api/content/search?" + urlencode(following)
        return (
            200,
            {},
            {
                "results": shown,
                "start": start,
                "limit": limit,
                "size": len(shown),
                "totalSize": len(found),
                "cqlQuery": cql,
                "_links": links,
            },
        )

    def _content(self, content_id: str, expand: set[str]) -> tuple[int, dict[str, str], dict]:
        page = self.pages.get(content_id)
        if page is None:
            return 404, {}, _error(404, f"No content found with id: ContentId{{id={content_id}}}")
        return 200, {}, self._page_json(page, expand)

    def _download(self, page_id: str, name: str) -> tuple[int, dict[str, str], dict | bytes]:
        for attachment in self.attachments.values():
            if attachment.page == page_id and attachment.title == name and page_id in self.pages:
                return 200, {"Content-Type": attachment.media_type}, attachment.data
        return 404, {}, _error(404, "Attachment not found")

    # -- shapes -------------------------------------------------------------------------
    def _web_link(self, page: Page) -> str:
        if self.cloud:
            return f"/spaces/{page.space}/pages/{page.id}/{quote(page.title.replace(' ', '+'), safe='+')}"
        return f"/pages/viewpage.action?pageId={page.id}"

    def _page_json(self, page: Page, expand: set[str]) -> dict:
        entry: dict = {
            "id": page.id,
            "type": "page",
            "status": "current",
            "title": page.title,
            "_links": {
                "webui": self._web_link(page),
                "tinyui": f"/x/{page.id}",
                "self": f"{self.url}/rest/api/content/{page.id}",
            },
        }
        if "version" in expand:
            entry["version"] = {
                "number": page.version,
                "when": page.when,
                "by": {"type": "known", "accountId": "5b10ac8d", "displayName": page.editor},
                "minorEdit": False,
            }
        if "metadata.labels" in expand:
            labels = [
                {"prefix": "global", "name": n, "id": str(i), "label": n}
                for i, n in enumerate(page.labels)
            ]
            entry["metadata"] = {"labels": _paged(labels)}
        if "ancestors" in expand:
            entry["ancestors"] = [
                {"id": a.id, "type": "page", "status": "current", "title": a.title}
                for a in self._ancestors(page)
            ]
        read: dict = {}
        if "restrictions.read.restrictions.user" in expand:
            read["user"] = _paged(
                [{"type": "known", "accountId": u, "displayName": u} for u in page.read_users]
            )
        if "restrictions.read.restrictions.group" in expand:
            read["group"] = _paged(
                [{"type": "group", "name": g, "id": f"g-{g}"} for g in page.read_groups]
            )
        hidden = self._hidden.get(page.id)
        if hidden is not None and hidden[0] in read:
            kind, what = hidden
            if what == "key":
                del read[kind]
            else:
                read[kind] = {"_links": {"self": f"{self.url}/rest/api/content/{page.id}"}}
        if read:
            entry["restrictions"] = {"read": {"operation": "read", "restrictions": read}}
        if "body.storage" in expand:
            entry["body"] = {"storage": {"value": page.body, "representation": "storage"}}
        return entry

    def _ancestors(self, page: Page) -> list[Page]:
        chain: list[Page] = []
        parent = page.parent
        while parent is not None and parent in self.pages:
            chain.insert(0, self.pages[parent])
            parent = self.pages[parent].parent
        return chain

    def _attachment_json(self, attachment: Attachment, expand: set[str]) -> dict:
        page = self.pages[attachment.page]
        download = f"/download/attachments/{page.id}/{quote(attachment.title)}"
        entry: dict = {
            "id": attachment.id,
            "type": "attachment",
            "status": "current",
            "title": attachment.title,
            "metadata": {"mediaType": attachment.media_type},
            "extensions": {"mediaType": attachment.media_type, "fileSize": len(attachment.data)},
            "_links": {
                "download": f"{download}?version={attachment.version}&api=v2",
                "webui": f"{self._web_link(page)}?preview={quote(attachment.title)}",
            },
        }
        if "version" in expand:
            entry["version"] = {
                "number": attachment.version,
                "when": page.when,
                "by": {"type": "known", "displayName": page.editor},
            }
        if "container" in expand:
            entry["container"] = {"id": page.id, "type": "page", "title": page.title}
        return entry


def _expand(query: dict[str, str]) -> set[str]:
    return {e.strip() for e in query.get("expand", "").split(",") if e.strip()}


def _paged(results: list[dict]) -> dict:
    return {"results": results, "start": 0, "limit": 200, "size": len(results)}


def _error(status: int, message: str) -> dict:
    return {
        "statusCode": status,
        "data": {"authorized": status != 401, "valid": True},
        "message": message,
        "reason": "",
    }
