"""Google Drive as a source: the files in one folder (and its sub-folders) or one shared drive.

    - name: drive-policies
      type: gdrive
      folder_id: 1AbCdEfGhIjKlMnOpQrStUvWxYz012345   # the id at the end of the folder's URL
      drive_id: 0ABcDeFgHiJkLmNoPQ                   # a shared drive (alone: all of it)
      domain: acme.com                               # your Google Workspace domain
      credentials_env: GOOGLE_APPLICATION_CREDENTIALS

Setup. Create a service account in a Google Cloud project, enable the Google Drive API in that
project and make a JSON key for the account; put the key file on the ingest machine and its
path in the environment variable that `credentials_env` names (the key itself is never written
in sources.yaml). Share the folder with the service account's email (…@….iam.gserviceaccount.com)
as a Viewer, or add the account to the shared drive as a Viewer. Nothing else: no domain-wide
delegation, no admin role; the account reads only what was shared with it, with the read-only
scope `drive.readonly`.

What is read. Google Docs are exported as HTML (`text/html`); PDF, Word (.docx), Markdown
(text/markdown, or text/plain named *.md) and plain-text files are downloaded. Sheets, Slides,
images, shortcuts and other files are skipped without a word; trashed files are not listed.
A file's version is its `modifiedTime`: an unchanged file is not downloaded again. Citations
link to the file's `webViewLink`; the title is the file's name (without its extension) and the
owner its owner's name (its last editor's for a shared-drive file, which has no owner).

Who may read an answer built from a file (its permissions as Drive lists them):
    - shared with the domain in `domain` (type "domain", any role, including "anyone at
      acme.com with the link"), or with anyone (type "anyone", with or without the link):
      everyone in the company;
    - anything else is staff-only (audience coe-staff): shared only with people or groups,
      shared with another domain, no `domain` configured, or permissions the service account
      cannot see (for a shared-drive file they are asked for per file; a refusal counts as
      not shared).
  Re-sharing a file does not change its modifiedTime; it is picked up all the same, since the
  permissions are read on every sync and a change of audience re-indexes the file.

Why HTML for Docs: the export keeps headings, lists and tables as elements the HTML reader
turns into Markdown; Drive's Markdown export escapes punctuation with backslashes (cited
passages would show them) and inlines images as base64 data. The export has no <main>, so
its <body> is marked as the content: the reader's page heuristics (menus, sidebars) would
otherwise keep only the densest block, the table of a table-heavy Doc.

Limits: a download asks for at most the size limit plus one byte (a Range request), after
checking the size Drive lists; Drive itself refuses to export a Doc over 10 MB. A 429, or a 403
for rateLimitExceeded / userRateLimitExceeded, waits for Retry-After (capped at
`max_retry_wait_s`; exponential backoff without it) and retries up to `max_retries` times;
transient 5xx answers are retried the same way. A limit that never lifts fails the source for
that run, while listing or loading: its last indexed content stays searchable. So do refused
credentials, and, while listing, a Drive that cannot be reached, keeps failing or answers
something other than JSON. While one file is loaded, no answer (a timeout, a dropped
connection) or a 5xx that outlasts the retries fails that file alone: its indexed version stays.

The client library's own retries (`execute(num_retries=…)`) ignore Retry-After, so requests are
executed once each and retried here.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import google_auth_httplib2  # type: ignore[import-untyped]
import httplib2  # type: ignore[import-untyped]
from google.auth.exceptions import GoogleAuthError, RefreshError, TransportError
from google.oauth2 import service_account
from googleapiclient.discovery import build  # type: ignore[import-untyped]
from googleapiclient.errors import Error as ApiClientError  # type: ignore[import-untyped]
from googleapiclient.errors import HttpError  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.errors import DocumentError
from ingest.safe_open import too_big_reason
from ingest.sources.base import Item, ItemGoneError, ItemMeta, RemoteSource, SourceError

SCOPES = ["https://www.googleapis.com/auth/drive.readonly"]
DEFAULT_API_URL = "https://www.googleapis.com"
HTTP_TIMEOUT_S = 120  # per request: exporting a long Doc can take Drive a while
PAGE_SIZE = 1000  # the most files.list gives in one page

FOLDER = "application/vnd.google-apps.folder"
GOOGLE_DOC = "application/vnd.google-apps.document"
_DOWNLOADED = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/plain": ".txt",
}
_EXTENSIONS = (".pdf", ".docx", ".md", ".markdown", ".txt")
_PERMISSION_FIELDS = "permissions(type,domain,role)"
_FILE_FIELDS = (
    "id,name,mimeType,modifiedTime,webViewLink,size,driveId,"
    f"owners(displayName),lastModifyingUser(displayName),{_PERMISSION_FIELDS}"
)
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
_TRANSIENT = {500, 502, 503, 504}
_DRIVE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BODY = re.compile(rb"(<body\b[^>]*>)(.*)(</body\s*>)", re.DOTALL | re.IGNORECASE)
# No answer at all: a timeout, a refused or dropped connection, a name that does not resolve.
_NO_ANSWER = (TransportError, OSError, httplib2.HttpLib2Error, http.client.HTTPException)
# An answer the client libraries could not make sense of.
_UNREADABLE = (GoogleAuthError, ApiClientError, ValueError, TypeError, KeyError)


class GDriveConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["gdrive"]
    name: str
    folder_id: str | None = None  # a folder: it and its sub-folders are read
    drive_id: str | None = None  # a shared drive: all of it, or the folder_id inside it
    credentials_env: str = "GOOGLE_APPLICATION_CREDENTIALS"  # names the key file's variable
    domain: str | None = None  # files shared with this Workspace domain are public
    api_url: str | None = None  # the API root (https://www.googleapis.com): tests, proxies
    max_retries: int = Field(5, ge=0)
    max_retry_wait_s: float = Field(60.0, ge=0)

    @field_validator("folder_id", "drive_id")
    @classmethod
    def _an_id(cls, value: str | None) -> str | None:
        if value is not None and not _DRIVE_ID.match(value):
            raise ValueError(
                f"{value!r} is not a Drive id: use the last part of the folder's or the shared "
                "drive's URL (after /folders/), e.g. 1AbCdEfGhIjKlMnOpQrStUvWxYz012345"
            )
        return value

    @field_validator("credentials_env")
    @classmethod
    def _a_variable_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                "credentials_env is the NAME of an environment variable holding the path of the "
                "service account's JSON key (e.g. GOOGLE_APPLICATION_CREDENTIALS), not a path "
                "or a key"
            )
        return value

    @field_validator("domain")
    @classmethod
    def _a_domain(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return value.strip().lstrip("@").lower() or None

    @field_validator("api_url")
    @classmethod
    def _a_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("api_url must start with https:// (or http:// for a local double)")
        return value

    @model_validator(mode="after")
    def _a_root(self) -> GDriveConfig:
        if self.folder_id is None and self.drive_id is None:
            raise ValueError(
                "give folder_id (a folder and its sub-folders), drive_id (a whole shared drive), "
                "or both (a folder inside that shared drive)"
            )
        return self


@dataclass(frozen=True)
class _Content:
    """How `load` gets an item's bytes: exported (a Google Doc) or downloaded."""

    export: bool
    size: int | None  # as listed; None when unknown or meaningless (a Doc's storage size)


class _ContentRange:
    """A response callback noting the full size a ranged download reports."""

    def __init__(self) -> None:
        self.total: int | None = None

    def __call__(self, response: Any) -> None:
        said = str(response.get("content-range", ""))
        total = said.rsplit("/", 1)[-1]
        if total.isdigit():
            self.total = int(total)


class GDriveSource(RemoteSource):
    """The files of a Drive folder or shared drive; see the module's docstring."""

    kind = "gdrive"

    def __init__(self, config: GDriveConfig, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ
        self._endpoint = (config.api_url or DEFAULT_API_URL).rstrip("/") + "/drive/v3/"
        self._api: Any = None  # the Drive client, made anew by each listing
        self._signed_in: service_account.Credentials | None = None  # its token is never shown
        self._email = "the service account"
        self._drive_id = config.drive_id  # the shared drive the root is in, if any

    # -- connecting --------------------------------------------------------------------------

    def _credentials(self) -> service_account.Credentials:
        variable = self.config.credentials_env
        path = self._environ.get(variable)
        if not path:
            raise SourceError(
                f"environment variable {variable} is not set: set it to the path of the "
                "service account's JSON key file"
            )
        try:
            credentials = service_account.Credentials.from_service_account_file(path, scopes=SCOPES)
        except OSError as error:
            raise SourceError(
                f"cannot read the service account key file {path} (from {variable}): "
                f"{error.strerror or error}"
            ) from None
        except (ValueError, KeyError, GoogleAuthError) as error:
            raise SourceError(
                f"{path} (from {variable}) is not a service account JSON key: {error}"
            ) from None
        self._email = credentials.service_account_email
        return credentials

    def _connect(self) -> None:
        """A Drive client with a fresh token: a refused key is told apart from a refused call."""
        credentials = self._credentials()
        try:
            credentials.refresh(google_auth_httplib2.Request(httplib2.Http(timeout=HTTP_TIMEOUT_S)))
        except RefreshError as error:
            raise SourceError(
                f"Google refused the service account {self._email}: {_refusal(error)}. Check "
                "that its key has not been deleted or rotated and that the account still exists"
            ) from None
        except _NO_ANSWER as error:
            raise SourceError(
                f"cannot reach Google's token endpoint {credentials._token_uri}: {error}"
            ) from None
        except _UNREADABLE as error:  # a proxy's page instead of a token, say
            raise SourceError(
                f"Google's token endpoint {credentials._token_uri} did not answer with a token "
                f"({type(error).__name__}): check the network path to it"
            ) from None
        self._signed_in = credentials
        http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=HTTP_TIMEOUT_S)
        )
        self._api = build(
            "drive",
            "v3",
            http=http,
            static_discovery=True,  # the bundled discovery document: nothing fetched for it
            cache_discovery=False,  # its file cache needs oauth2client, and logs a traceback
            client_options={"api_endpoint": self._endpoint},
        )

    # -- calling, with retries ---------------------------------------------------------------

    def _execute(self, request: Any, loading: bool = False) -> Any:
        """The request's answer. Raises SourceError for what ends the whole sync (a rate limit
        that never lifts, refused credentials; while listing, no connection or a 5xx that
        outlasts the retries), DocumentError for what fails the file being loaded (no answer,
        a lasting 5xx) and HttpError for the rest."""
        tries = self.config.max_retries + 1
        for attempt in range(1, tries + 1):
            try:
                return self._once(request, loading)
            except HttpError as error:
                if not _retryable(error):
                    raise
                if attempt == tries:
                    failure = DocumentError if loading and not _rate_limited(error) else SourceError
                    raise failure(_gave_up(error, tries)) from None
                time.sleep(self._wait(error, attempt))
        raise AssertionError("unreachable")

    def _once(self, request: Any, loading: bool) -> Any:
        failure = DocumentError if loading else SourceError
        try:
            return request.execute(num_retries=0)
        except HttpError as error:
            if error.resp.status == 401:  # the token was refreshed and retried once already
                raise SourceError(
                    f"Google Drive refused the service account {self._email}'s token "
                    f"(HTTP 401: {error.reason})"
                ) from None
            raise
        except RefreshError as error:
            raise SourceError(
                f"Google refused the service account {self._email}: {_refusal(error)}"
            ) from None
        except _NO_ANSWER as error:
            raise failure(
                f"cannot reach Google Drive at {self._endpoint}: {self._said(error)}"
            ) from None
        except _UNREADABLE as error:
            raise failure(
                f"Google Drive at {self._endpoint} sent an answer that could not be read "
                f"({self._said(error)})"
            ) from None

    def _said(self, error: Exception) -> str:
        """An error's type and words, without the access token."""
        said = f"{type(error).__name__}: {error}"
        token = self._signed_in.token if self._signed_in is not None else None
        return said.replace(token, "***") if isinstance(token, str) and token else said

    def _object(self, request: Any, what: str) -> dict[str, Any]:
        """A JSON request's answer while listing; the client hands back a body that is not
        JSON as it came (a proxy's login page), which fails the listing here."""
        answer = self._execute(request)
        if isinstance(answer, dict):
            return answer
        kind = "is not JSON" if isinstance(answer, str | bytes) else "is not a JSON object"
        raise SourceError(
            f"Google Drive's answer to {what} (at {self._endpoint}) {kind}: a proxy's or a "
            "login page? Check api_url and the network path to Google"
        )

    def _wait(self, error: HttpError, attempt: int) -> float:
        """Retry-After when the answer gives one, else exponential backoff with jitter."""
        cap = self.config.max_retry_wait_s
        said = _retry_after(str(error.resp.get("retry-after", "")))
        if said is not None:
            return min(cap, said)
        return min(cap, 2.0 ** (attempt - 1) * random.uniform(0.5, 1.0))

    # -- listing -----------------------------------------------------------------------------

    def items(self) -> Iterable[Item]:
        self._connect()
        self._check_root()
        root = self.config.folder_id or self.config.drive_id
        assert root is not None
        yield from self._walk(root)

    def _check_root(self) -> None:
        """Fails the listing with what to do when the root is not there for the account: Drive
        lists the children of a folder it does not show as an empty folder."""
        drive_id, folder_id = self.config.drive_id, self.config.folder_id
        if drive_id is not None:
            try:
                request = self._api.drives().get(driveId=drive_id, fields="id,name")
                self._object(request, f"shared drive {drive_id}")
            except HttpError as error:
                raise SourceError(self._root_error(error, f"shared drive {drive_id}")) from None
        if folder_id is None:
            return
        try:
            folder = self._object(
                self._api.files().get(
                    fileId=folder_id, fields="id,name,mimeType,driveId", supportsAllDrives=True
                ),
                f"folder {folder_id}",
            )
        except HttpError as error:
            raise SourceError(self._root_error(error, f"folder {folder_id}")) from None
        if folder.get("mimeType") != FOLDER:
            raise SourceError(f"{folder_id} ({folder.get('name')}) is a file, not a folder")
        if drive_id is not None and folder.get("driveId") != drive_id:
            raise SourceError(f"folder {folder_id} is not in shared drive {drive_id}")
        self._drive_id = folder.get("driveId") or drive_id

    def _root_error(self, error: HttpError, what: str) -> str:
        if error.resp.status == 404:
            how = (
                "add the service account to the shared drive (Viewer is enough)"
                if what.startswith("shared drive")
                else "share the folder with the service account (Viewer is enough)"
            )
            return f"Google Drive {what} was not found: check the id, and {how}: {self._email}"
        return f"Google Drive refused to open {what} (HTTP {error.resp.status}: {error.reason})"

    def _walk(self, root: str) -> Iterator[Item]:
        """Every kept file below `root`, folder by folder (a folder met twice is read once)."""
        pending: deque[tuple[str, str]] = deque([(root, "")])
        seen = {root}
        while pending:
            folder, path = pending.popleft()
            for found in self._children(folder):
                if not isinstance(found, dict) or not isinstance(found.get("id"), str):
                    continue  # not a file as Drive describes one
                name = str(found.get("name") or found["id"])
                if found.get("mimeType") == FOLDER:
                    if found["id"] not in seen:
                        seen.add(found["id"])
                        pending.append((found["id"], f"{path}{name}/"))
                    continue
                item = self._item(found, path + name)
                if item is not None:
                    yield item

    def _children(self, folder: str) -> Iterator[dict[str, Any]]:
        where = {"corpora": "drive", "driveId": self._drive_id} if self._drive_id else {}
        token: str | None = None
        while True:
            request = self._api.files().list(
                q=f"'{folder}' in parents and trashed=false",
                fields=f"nextPageToken,files({_FILE_FIELDS})",
                pageSize=PAGE_SIZE,
                pageToken=token,
                supportsAllDrives=True,
                includeItemsFromAllDrives=True,
                **where,
            )
            try:
                page = self._object(request, f"the listing of folder {folder}")
            except HttpError as error:
                raise SourceError(
                    f"cannot list Google Drive folder {folder} "
                    f"(HTTP {error.resp.status}: {error.reason})"
                ) from None
            files = page.get("files", [])
            if not isinstance(files, list):
                raise SourceError(f"Google Drive's listing of folder {folder} has no list of files")
            yield from files
            token = page.get("nextPageToken")
            if not token:
                return

    def _item(self, found: dict[str, Any], path: str) -> Item | None:
        mime = found.get("mimeType", "")
        name = str(found.get("name") or found["id"])
        if mime == GOOGLE_DOC:
            suffix, content = ".html", _Content(export=True, size=None)
        elif mime in _DOWNLOADED:
            suffix = _DOWNLOADED[mime]
            if suffix == ".txt" and name.lower().endswith((".md", ".markdown")):
                suffix = ".md"
            content = _Content(export=False, size=_size(found.get("size")))
        else:
            return None
        modified = found.get("modifiedTime")
        modified = modified if isinstance(modified, str) else None
        return Item(
            id=found["id"],
            version=modified,
            suffix=suffix,
            link=found.get("webViewLink"),
            shown=f"{self.name}:{path}",
            meta=ItemMeta(
                title=_title(name),
                owner=_owner(found),
                modified=_date(modified),
                restricted=self._restricted(found),
            ),
            payload=content,
        )

    # -- permissions -------------------------------------------------------------------------

    def _restricted(self, found: dict[str, Any]) -> bool:
        permissions = found.get("permissions")
        if permissions is None:  # not in the listing (a shared-drive file): ask for them
            permissions = self._permissions(found["id"])
        if not isinstance(permissions, list):  # not readable: counted as not shared
            return True
        return not company_wide(permissions, self.config.domain)

    def _permissions(self, file_id: str) -> list[dict[str, Any]] | None:
        """The file's permissions, or None when the account may not see them."""
        permissions: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request = self._api.permissions().list(
                fileId=file_id,
                fields=f"nextPageToken,{_PERMISSION_FIELDS}",
                pageSize=100,
                pageToken=token,
                supportsAllDrives=True,
            )
            try:
                page = self._object(request, f"the permissions of file {file_id}")
            except HttpError:
                return None  # not visible (403, 404…): counted as not shared
            listed = page.get("permissions")
            if not isinstance(listed, list):
                return None
            permissions += listed
            token = page.get("nextPageToken")
            if not token:
                return permissions

    # -- loading -----------------------------------------------------------------------------

    def load(self, item: Item, max_bytes: int) -> bytes:
        content: _Content = item.payload
        if content.size is not None and content.size > max_bytes:
            raise DocumentError(too_big_reason(content.size, max_bytes))
        if self._api is None:
            raise SourceError("Google Drive items are loaded after the source is listed")
        files = self._api.files()
        if content.export:
            request = files.export_media(fileId=item.id, mimeType="text/html")
        else:
            request = files.get_media(fileId=item.id, supportsAllDrives=True)
            # One byte over the limit is enough to refuse: the rest is never sent.
            request.headers["range"] = f"bytes=0-{max_bytes}"
        reported = _ContentRange()
        request.add_response_callback(reported)
        try:
            answer = self._execute(request, loading=True)
        except HttpError as error:
            if error.resp.status == 416:  # a range of an empty file: let the reader say so
                return b""
            raise _load_error(error) from None
        if not isinstance(answer, str | bytes | bytearray):
            raise DocumentError(f"Google Drive sent no content for it ({type(answer).__name__})")
        data = answer.encode("utf-8") if isinstance(answer, str) else bytes(answer)
        size = max(len(data), reported.total or 0)
        if size > max_bytes:
            raise DocumentError(too_big_reason(size, max_bytes))
        return _whole_body_is_content(data) if content.export else data


def company_wide(permissions: Iterable[Mapping[str, Any]], domain: str | None) -> bool:
    """Whether everyone in the company may read a file with these permissions: it is shared
    with anyone, or with the company's own domain (any role)."""
    for permission in permissions:
        if not isinstance(permission, Mapping):
            continue
        if permission.get("type") == "anyone":
            return True
        shared_with = str(permission.get("domain") or "").lower()
        if domain and permission.get("type") == "domain" and shared_with == domain:
            return True
    return False


def _reasons(error: HttpError) -> set[str]:
    try:
        said = json.loads(error.content)
        return {str(e.get("reason")) for e in said["error"].get("errors", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return set()


def _rate_limited(error: HttpError) -> bool:
    status = error.resp.status
    return status == 429 or (status == 403 and bool(_reasons(error) & _RATE_REASONS))


def _retryable(error: HttpError) -> bool:
    return _rate_limited(error) or error.resp.status in _TRANSIENT


def _gave_up(error: HttpError, tries: int) -> str:
    if _rate_limited(error):
        return f"Google Drive rate limited the service account; gave up after {tries} tries"
    return (
        f"Google Drive kept failing (HTTP {error.resp.status}: {error.reason}); "
        f"gave up after {tries} tries"
    )


def _retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header: a number, or an HTTP date."""
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _refusal(error: RefreshError) -> str:
    """Google's own words from a refused token request ('invalid_grant: Invalid JWT …')."""
    said = error.args[0] if error.args else error
    return str(said).rstrip(".")


def _load_error(error: HttpError) -> DocumentError:
    status, reasons = error.resp.status, _reasons(error)
    if status == 404:
        return ItemGoneError(
            "deleted from Google Drive (or no longer shared with the service account) "
            "since it was listed"
        )
    if "exportSizeLimitExceeded" in reasons:
        return DocumentError("Google Drive will not export this Doc: it is over its 10 MB limit")
    if reasons & {"cannotDownloadFile", "cannotExportFile"}:
        return DocumentError(
            "its owner does not let viewers download or export it: allow that in the file's "
            "sharing settings"
        )
    return DocumentError(f"Google Drive refused to send it (HTTP {status}: {error.reason})")


def _whole_body_is_content(html: bytes) -> bytes:
    """The export's <body> wrapped in <main>: all of a Doc is its content (see above)."""
    return _BODY.sub(rb"\1<main>\2</main>\3", html, count=1)


def _size(value: object) -> int | None:
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None


def _title(name: str) -> str:
    lower = name.lower()
    for extension in _EXTENSIONS:
        if lower.endswith(extension) and len(name) > len(extension):
            return name[: -len(extension)]
    return name


def _owner(found: Mapping[str, Any]) -> str | None:
    owners = found.get("owners")
    people = [*(owners if isinstance(owners, list) else []), found.get("lastModifyingUser")]
    for person in people:
        if isinstance(person, dict) and person.get("displayName"):
            return str(person["displayName"])
    return None


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None
