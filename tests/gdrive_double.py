"""A local stand-in for the Google Drive v3 REST API and Google's OAuth token endpoint.

It serves the calls `ingest.sources.gdrive` makes, in Drive's own shapes:

    POST /token                              a service account's signed JWT for an access token
    GET  /drive/v3/drives/{id}               a shared drive
    GET  /drive/v3/files?q='<id>' in parents and trashed=false   (pageSize, pageToken, corpora…)
    GET  /drive/v3/files/{id}                metadata; with alt=media the bytes (Range honoured)
    GET  /drive/v3/files/{id}/export         a Google Doc as text/html (Google's markup)
    GET  /drive/v3/files/{id}/permissions    who a file is shared with

Like Drive, it honours `fields` (partial responses), leaves `permissions` out of listings of
shared-drive files, hides shared-drive items unless asked for them (supportsAllDrives,
includeItemsFromAllDrives, corpora=drive + driveId), checks the JWT's signature against the
key it issued, and answers errors as {"error": {"code", "message", "errors": [{"reason"}]}}.

Scripting:

    drive.rate_limit(times=2, retry_after="1")     # the next two API calls get a 429
    drive.rate_limit(times=None, status=403, reason="userRateLimitExceeded")   # always
    drive.refuse_credentials = True                # the token endpoint says invalid_grant
    drive.page_size = 2                            # listings come in pages of two
    drive.delete_after_listing(file_id)            # listed once, then gone before it is read
    drive.revoke_tokens()                          # access tokens issued so far expire
    drive.api_disabled = True                      # 403 accessNotConfigured
    drive.fail(file_id, "close")                   # its download/export: connection dropped
    drive.fail(file_id, 503)                       # ... or that status, every time
    drive.login_page = True                        # API calls: 200 with a proxy's HTML page
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_DOC = "application/vnd.google-apps.document"
PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
SERVICE_ACCOUNT = "coe-reader@acme-coe.iam.gserviceaccount.com"
_QUERY = re.compile(r"^'([A-Za-z0-9_-]+)' in parents and trashed ?= ?false$")
_START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
LOGIN_PAGE = (
    b"<!DOCTYPE html><html><head><title>Sign in - Acme SSO</title></head>"
    b"<body><form action='/login'><input name='user'><input type='password'></form></body></html>"
)

# Google Docs' HTML export: inline styles, classes, no <main>, a "title" paragraph.
_EXPORT = (
    '<html><head><meta content="text/html; charset=UTF-8" http-equiv="content-type">'
    '<style type="text/css">ol{{margin:0;padding:0}}table td,table th{{padding:0}}'
    ".c0{{color:#000000;font-weight:400}}.c5{{font-size:26pt}}</style></head>"
    '<body class="c7 doc-content"><p class="c5 title" id="h.t"><span class="c0">{title}</span>'
    "</p>{body}</body></html>"
)


@dataclass
class DriveFile:
    id: str
    name: str
    mime_type: str
    parent: str | None
    content: bytes = b""
    modified: datetime = _START
    owner: str | None = "Dana Whitfield"
    modifier: str = "Dana Whitfield"
    permissions: list[dict] = field(default_factory=list)
    drive_id: str | None = None
    trashed: bool = False


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 0
    sent: int = 0  # bytes of the answer's body

    @property
    def kind(self) -> str:
        """token, drive, list, get, media, export or permissions."""
        parts = self.path.strip("/").split("/")
        if parts == ["token"]:
            return "token"
        if len(parts) >= 3 and parts[2] == "drives":
            return "drive"
        if len(parts) == 3:
            return "list"
        if len(parts) == 5:
            return parts[4]
        return "media" if self.query.get("alt") == "media" else "get"


@dataclass
class _Limit:
    times: int | None  # None: every request, for ever
    status: int
    retry_after: str | None
    reason: str


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_fields(spec: str) -> dict[str, Any]:
    """Drive's partial-response syntax: 'a,b(c,d/e)' → {'a': None, 'b': {'c': None, ...}}."""
    tree, rest = _fields(spec.replace(" ", ""), 0)
    assert rest == len(spec.replace(" ", "")), f"bad fields: {spec}"
    return tree


def _fields(spec: str, at: int) -> tuple[dict[str, Any], int]:
    tree: dict[str, Any] = {}
    while at < len(spec) and spec[at] != ")":
        name = re.match(r"[A-Za-z*]+(?:/[A-Za-z*]+)*", spec[at:])
        assert name, f"bad fields at {spec[at:]}"
        at += name.end()
        path = name.group(0).split("/")
        sub: dict[str, Any] | None = None
        if at < len(spec) and spec[at] == "(":
            sub, at = _fields(spec, at + 1)
            at += 1  # the ')'
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {}) or {}
        node[path[-1]] = sub
        if at < len(spec) and spec[at] == ",":
            at += 1
    return tree, at


def select(value: Any, tree: dict[str, Any] | None) -> Any:
    """`value` cut down to the fields `tree` asks for (None or '*' keeps all)."""
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if isinstance(value, dict):
        return {k: select(value[k], sub) for k, sub in tree.items() if k in value}
    return value


class DriveError(Exception):
    def __init__(self, status: int, reason: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.headers = headers or {}

    def body(self) -> dict:
        errors = [{"domain": "global", "reason": self.reason, "message": self.message}]
        return {"error": {"code": self.status, "message": self.message, "errors": errors}}


class DriveDouble:
    def __init__(self, domain: str = "acme.com") -> None:
        self.domain = domain
        self.files: dict[str, DriveFile] = {}
        self.drives: dict[str, tuple[str, list[dict]]] = {}  # id → (name, members)
        self.log: list[Logged] = []
        self.page_size = 100
        self.refuse_credentials = False
        self.api_disabled = False  # the Drive API is not enabled in the account's project
        self.login_page = False  # a proxy answers every API call with its sign-in page
        self._failing: dict[str, str | int] = {}  # file id → "close" or a status
        self._limits: list[_Limit] = []
        self._vanish: set[str] = set()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._tokens: set[str] = set()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self._lock = threading.Lock()
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as httplib2 expects

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET", b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve("POST", self.rfile.read(length))

            def _serve(self, method: str, body: bytes) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                headers = {k.lower(): v for k, v in self.headers.items()}
                entry = Logged(method, url.path, query, headers)
                if double._dropped(entry):
                    self.close_connection = True  # no answer at all
                    return
                status, extra, data, kind = double._answer(entry, body)
                entry.status, entry.sent = status, len(data)
                with double._lock:
                    double.log.append(entry)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- running ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API root, as a source's `api_url` takes it (Drive lives below /drive/v3/)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    def start(self) -> DriveDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- the service account ---------------------------------------------------------------

    def key_file(self, path: Path, email: str = SERVICE_ACCOUNT, known: bool = True) -> Path:
        """Writes a service-account JSON key whose token_uri is this double. With `known`
        False the key is not the account's (deleted or rotated): Google refuses it."""
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if known:
            self._keys[email] = private.public_key()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        key = {
            "type": "service_account",
            "project_id": "acme-coe",
            "private_key_id": f"key{next(self._ids)}",
            "private_key": pem,
            "client_email": email,
            "client_id": "1000000001",
            "token_uri": self.token_uri,
        }
        path.write_text(json.dumps(key), encoding="utf-8")
        return path

    def revoke_tokens(self) -> None:
        """Access tokens issued so far stop working (the API answers 401)."""
        with self._lock:
            self._tokens.clear()

    # -- content ---------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):04d}x"

    def _tick(self) -> datetime:
        return _START + timedelta(minutes=next(self._clock))

    def add_shared_drive(self, name: str, members: tuple[str, ...] = ("coe@acme.com",)) -> str:
        drive_id = self._new_id("0AD")
        people = [{"type": "user", "role": "organizer", "emailAddress": m} for m in members]
        with self._lock:
            self.drives[drive_id] = (name, people)
        return drive_id

    def add_folder(self, name: str, parent: str | None = None) -> str:
        return self._add(name, FOLDER, parent, b"", "none")

    def add_doc(self, name: str, body_html: str, parent: str, shared: str = "domain", **kw) -> str:
        """A Google Doc; `body_html` is what Docs' HTML export puts in <body>."""
        content = _EXPORT.format(title=name, body=body_html).encode()
        return self._add(name, GOOGLE_DOC, parent, content, shared, **kw)

    def add_file(
        self, name: str, mime_type: str, content: bytes, parent: str, shared: str = "domain", **kw
    ) -> str:
        return self._add(name, mime_type, parent, content, shared, **kw)

    def _add(
        self, name: str, mime: str, parent: str | None, content: bytes, shared: str, **kw: Any
    ) -> str:
        """`shared`: "domain" (the company), "anyone" (with the link), "users" (named people
        only) or "none" (the owner and the service account)."""
        prefix = {FOLDER: "1Fd", GOOGLE_DOC: "1Dc"}.get(mime, "1Fl")
        with self._lock:
            drive_id = self._drive_of(parent)
            found = DriveFile(
                self._new_id(prefix), name, mime, parent, content, self._tick(), drive_id=drive_id
            )
            for key, value in kw.items():
                setattr(found, key, value)
            if drive_id is not None:
                found.owner = None  # shared-drive files belong to the drive
            found.permissions = self._permissions_for(found, shared)
            self.files[found.id] = found
        return found.id

    def _drive_of(self, parent: str | None) -> str | None:
        if parent in self.drives:
            return parent
        return self.files[parent].drive_id if parent in self.files else None

    def _permissions_for(self, found: DriveFile, shared: str) -> list[dict]:
        people: list[dict] = []
        if found.owner:
            email = found.owner.split()[0].lower() + "@acme.com"
            people.append({"id": "p-owner", "type": "user", "role": "owner", "emailAddress": email})
        people.append(
            {"id": "p-sa", "type": "user", "role": "reader", "emailAddress": SERVICE_ACCOUNT}
        )
        if shared == "users":
            people.append(
                {"id": "p-u", "type": "user", "role": "writer", "emailAddress": "lee@acme.com"}
            )
            people.append(
                {"id": "p-g", "type": "group", "role": "reader", "emailAddress": "coe@acme.com"}
            )
        elif shared == "domain":
            people.append({"id": "p-d", "type": "domain", "role": "reader", "domain": self.domain})
        elif shared == "anyone":
            people.append({"id": "anyoneWithLink", "type": "anyone", "role": "reader"})
        return people

    def edit(
        self, file_id: str, body_html: str | None = None, content: bytes | None = None
    ) -> None:
        """New content and a later modifiedTime, as an author's edit gives."""
        with self._lock:
            found = self.files[file_id]
            if body_html is not None:
                found.content = _EXPORT.format(title=found.name, body=body_html).encode()
            if content is not None:
                found.content = content
            found.modified = self._tick()
            found.modifier = "Lee Okafor"

    def reshare(self, file_id: str, shared: str) -> None:
        """Changes who the file is shared with; like Drive, modifiedTime stays as it was."""
        with self._lock:
            found = self.files[file_id]
            found.permissions = self._permissions_for(found, shared)

    def delete(self, file_id: str) -> None:
        with self._lock:
            self.files.pop(file_id, None)

    def delete_after_listing(self, file_id: str) -> None:
        """The file is deleted right after the next listing that shows it."""
        with self._lock:
            self._vanish.add(file_id)

    # -- faults ----------------------------------------------------------------------------

    def rate_limit(
        self,
        times: int | None = 1,
        retry_after: str | None = None,
        status: int = 429,
        reason: str = "rateLimitExceeded",
    ) -> None:
        """The next `times` Drive API calls (every one with None) are refused as over quota."""
        with self._lock:
            self._limits.append(_Limit(times, status, retry_after, reason))

    def fail(self, file_id: str, how: str | int) -> None:
        """Every download or export of the file fails: "close" drops the connection without
        an answer, a number is answered as that HTTP status."""
        with self._lock:
            self._failing[file_id] = how

    def _failure(self, entry: Logged) -> str | int | None:
        parts = entry.path.strip("/").split("/")
        if entry.kind not in ("media", "export") or len(parts) < 4:
            return None
        with self._lock:
            return self._failing.get(parts[3])

    def _dropped(self, entry: Logged) -> bool:
        if self._failure(entry) != "close":
            return False
        with self._lock:
            self.log.append(entry)
        return True

    def lift_rate_limits(self) -> None:
        with self._lock:
            self._limits.clear()

    def requests(self, *kinds: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if r.kind in kinds]

    # -- answering -------------------------------------------------------------------------

    def _answer(self, entry: Logged, body: bytes) -> tuple[int, dict, bytes, str]:
        if entry.kind != "token" and self.login_page:
            return 200, {}, LOGIN_PAGE, "text/html; charset=utf-8"
        failure = self._failure(entry)
        if isinstance(failure, int):
            error = DriveError(failure, "backendError", "Backend Error")
            return failure, {}, json.dumps(error.body()).encode(), "application/json"
        try:
            if entry.kind == "token":
                payload: Any = self._token(body)
            else:
                payload = self._api(entry)
        except DriveError as error:
            if entry.kind == "token":
                said = {"error": error.reason, "error_description": error.message}
                return error.status, {}, json.dumps(said).encode(), "application/json"
            return (
                error.status,
                error.headers,
                json.dumps(error.body()).encode(),
                "application/json",
            )
        if isinstance(payload, tuple):
            return payload
        return 200, {}, json.dumps(payload).encode(), "application/json"

    def _token(self, body: bytes) -> dict:
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            raise DriveError(400, "unsupported_grant_type", "Invalid grant_type.")
        head, claims, signature = form.get("assertion", "..").split(".")
        said = json.loads(_b64decode(claims))
        public = self._keys.get(said.get("iss", ""))
        if public is None:
            raise DriveError(400, "invalid_grant", "Invalid grant: account not found")
        try:
            public.verify(
                _b64decode(signature),
                f"{head}.{claims}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise DriveError(400, "invalid_grant", "Invalid JWT Signature.") from None
        if self.refuse_credentials:
            raise DriveError(400, "invalid_grant", "Invalid JWT Signature.")
        # google-auth names Google's own endpoint as the audience, wherever it posts.
        if said.get("aud") != GOOGLE_TOKEN_URI or "drive" not in said.get("scope", ""):
            raise DriveError(400, "invalid_scope", "Invalid OAuth scope or audience.")
        token = f"ya29.double-{next(self._ids)}"
        with self._lock:
            self._tokens.add(token)
        return {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def _api(self, entry: Logged) -> Any:
        self._check_limit()
        with self._lock:
            bearer = entry.headers.get("authorization", "").removeprefix("Bearer ")
            if bearer not in self._tokens:
                raise DriveError(
                    401, "authError", "Request had invalid authentication credentials."
                )
            if self.api_disabled:
                raise DriveError(
                    403,
                    "accessNotConfigured",
                    "Google Drive API has not been used in project 1000000001 before or it is "
                    "disabled. Enable it by visiting https://console.developers.google.com/apis/"
                    "api/drive.googleapis.com/overview?project=1000000001 then retry.",
                )
            return self._route(entry)

    def _check_limit(self) -> None:
        with self._lock:
            if not self._limits:
                return
            limit = self._limits[0]
            if limit.times is not None:
                limit.times -= 1
                if limit.times <= 0:
                    self._limits.pop(0)
        headers = {"Retry-After": limit.retry_after} if limit.retry_after else {}
        raise DriveError(limit.status, limit.reason, "Rate limit exceeded.", headers)

    def _route(self, entry: Logged) -> Any:
        parts = entry.path.strip("/").split("/")
        if parts[:2] != ["drive", "v3"] or len(parts) < 3:
            raise DriveError(404, "notFound", f"No such path: {entry.path}")
        query = entry.query
        fields = parse_fields(query["fields"]) if "fields" in query else None
        if parts[2] == "drives" and len(parts) == 4:
            return select(self._shared_drive(parts[3]), fields)
        if parts[2] != "files":
            raise DriveError(404, "notFound", f"No such path: {entry.path}")
        if len(parts) == 3:
            return select(self._list(query), fields or parse_fields("nextPageToken,files(id,name)"))
        if len(parts) == 5 and parts[4] == "export":  # export takes no supportsAllDrives
            return self._export(self._visible(parts[3], {"supportsAllDrives": "true"}), query)
        found = self._visible(parts[3], query)
        if len(parts) == 5 and parts[4] == "permissions":
            return select({"permissions": found.permissions}, fields)
        if query.get("alt") == "media":
            return self._media(found, entry.headers.get("range"))
        return select(self._resource(found, listing=False), fields or parse_fields("id,name"))

    def _shared_drive(self, drive_id: str) -> dict:
        if drive_id not in self.drives:
            raise DriveError(404, "notFound", f"Shared drive not found: {drive_id}")
        return {"kind": "drive#drive", "id": drive_id, "name": self.drives[drive_id][0]}

    def _visible(self, file_id: str, query: dict[str, str]) -> DriveFile:
        found = self.files.get(file_id)
        # Drive hides shared-drive items from callers that do not say they support them.
        if found is None or (found.drive_id and query.get("supportsAllDrives") != "true"):
            raise DriveError(404, "notFound", f"File not found: {file_id}.")
        return found

    def _list(self, query: dict[str, str]) -> dict:
        match = _QUERY.match(query.get("q", ""))
        if match is None:
            raise DriveError(400, "invalid", f"Invalid Value: q={query.get('q')!r}")
        parent = match.group(1)
        children = [
            f
            for f in self.files.values()
            if f.parent == parent and not f.trashed and self._in_corpus(f, query)
        ]
        children.sort(key=lambda f: f.id)
        size = min(int(query.get("pageSize", 100)), self.page_size)
        start = int(query.get("pageToken", "0"))
        page = children[start : start + size]
        answer: dict[str, Any] = {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [self._resource(f, listing=True) for f in page],
        }
        if start + size < len(children):
            answer["nextPageToken"] = str(start + size)
        for f in page:
            if f.id in self._vanish:
                self._vanish.discard(f.id)
                self.files.pop(f.id, None)
        return answer

    def _in_corpus(self, found: DriveFile, query: dict[str, str]) -> bool:
        if found.drive_id is None:
            return True
        return (
            query.get("includeItemsFromAllDrives") == "true"
            and query.get("supportsAllDrives") == "true"
            and (
                query.get("corpora") == "allDrives"
                or (query.get("corpora") == "drive" and query.get("driveId") == found.drive_id)
            )
        )

    def _resource(self, found: DriveFile, listing: bool) -> dict:
        link = (
            f"https://docs.google.com/document/d/{found.id}/edit?usp=drivesdk"
            if found.mime_type == GOOGLE_DOC
            else f"https://drive.google.com/file/d/{found.id}/view?usp=drivesdk"
        )
        resource: dict[str, Any] = {
            "kind": "drive#file",
            "id": found.id,
            "name": found.name,
            "mimeType": found.mime_type,
            "parents": [found.parent] if found.parent else [],
            "modifiedTime": found.modified.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "webViewLink": link,
            "trashed": found.trashed,
            "lastModifyingUser": {"kind": "drive#user", "displayName": found.modifier},
        }
        if found.mime_type != FOLDER:
            resource["size"] = str(len(found.content))  # Docs count their storage, not an export
        if found.owner:
            resource["owners"] = [{"kind": "drive#user", "displayName": found.owner}]
        if found.drive_id:
            resource["driveId"] = found.drive_id
        else:
            # Drive lists permissions for My Drive items only; shared-drive items need a call.
            resource["permissions"] = found.permissions
        return resource

    def _export(self, found: DriveFile, query: dict[str, str]) -> tuple[int, dict, bytes, str]:
        if found.mime_type != GOOGLE_DOC:
            raise DriveError(403, "fileNotExportable", "Export only supports Docs Editors files.")
        if query.get("mimeType") != "text/html":
            raise DriveError(400, "badRequest", f"Unsupported export type {query.get('mimeType')}")
        return 200, {}, found.content, "text/html; charset=utf-8"

    def _media(self, found: DriveFile, wanted: str | None) -> tuple[int, dict, bytes, str]:
        if found.mime_type in (FOLDER, GOOGLE_DOC):
            raise DriveError(
                403, "fileNotDownloadable", "Only files with binary content can be downloaded."
            )
        data, total = found.content, len(found.content)
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if match is None:
            return 200, {}, data, found.mime_type
        first = int(match.group(1))
        last = min(int(match.group(2) or total - 1), total - 1)
        if first >= total:
            headers = {"Content-Range": f"bytes */{total}"}
            raise DriveError(416, "rangeNotSatisfiable", "Range not satisfiable", headers)
        headers = {"Content-Range": f"bytes {first}-{last}/{total}"}
        return 206, headers, data[first : last + 1], found.mime_type
