"""Confluence (Cloud or Data Center) as a source: the current pages of some spaces.

Listing: for each space, `GET <url>/rest/api/space/<KEY>` (an unknown space is a 404 there;
a search may just come back empty), then the CQL search `space = "KEY" and type = page`
(`GET <url>/rest/api/content/search`, the same on Cloud and Data Center), following
`_links.next` until there is none. The listing expands each page's version (number, date,
last editor), labels, ancestors and read restrictions, so a page whose version number did not
change is never fetched again. `load` fetches one page's body in storage format
(`GET <url>/rest/api/content/<id>?expand=body.storage`) and turns it into Markdown.
With `attachments: true`, the PDF and DOCX attachments of the listed pages are items too
(CQL `type = attachment`), downloaded from their `_links.download`.

Permissions (`ItemMeta.restricted`; a restricted item is indexed as `audience: coe-staff`):
- a page with a read restriction on itself or on any of its ancestor pages is staff-only,
  unless every such restriction lists the group named by `everyone_group` (the group all
  company users are in), which makes that restriction no restriction at all;
- a page with no read restriction on itself or an ancestor is public: it is visible to
  whoever may view its space, so only list spaces that everyone in the company may view;
- staff-only as well, because the listing cannot tell: a page whose listing entry carries no
  read restrictions or no ancestors at all (not even empty lists), whose read restriction
  lacks its user or its group list (not expanded: both must be there, as `results` lists),
  or one with an ancestor that is not among the space's listed pages (a Cloud folder, or a
  page the account cannot see);
- an attachment is staff-only exactly when its page is; attachments of pages that are not
  listed (blog posts, say) are not ingested;
- edit restrictions and space permissions are not read; a change of restriction alone (no
  new version) is still noticed, because ingest compares the restriction too.

Why some requests bypass the client: atlassian-python-api (`atlassian.Confluence`) builds the
authenticated session (Cloud: account email and API token; Data Center: bearer personal access
token) and sends the listing requests, in its raw-response mode so that the `Retry-After` of a
429 is ours to honour (its own retry honours one 429 only). Page bodies and attachments are
read with that same session but streamed (`stream=True`), which the client cannot do: a page
over the size limit is refused after reading at most a bounded amount, not held whole.

Failures: a 429 is waited out (its Retry-After, capped at `max_retry_wait_s`) and a 502, 503
or 504 retried with a short doubling backoff, up to `max_retries` times. While listing, a
site that cannot be reached, keeps failing or answers something other than Confluence's JSON
fails the whole source for this run (its pages indexed before stay searchable). While one
page or attachment is loaded, the same troubles fail that item alone (its indexed version
stays); only refused credentials (401) and a rate limit that never lifts fail the source.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import quote, urljoin, urlsplit

import requests
from atlassian import Confluence
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.exceptions import ParserRejectedMarkup
from markdownify import ATX, MarkdownConverter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ingest.errors import DocumentError
from ingest.safe_open import too_big_reason
from ingest.sources.base import Item, ItemGoneError, ItemMeta, RemoteSource, SourceError
from ingest.tables import markdown_table

TIMEOUT_S = 60
PAGE_LIMIT = 50  # asked per listing request; the server may give fewer and a next link
_PAGE_EXPAND = ",".join(
    [
        "version",
        "metadata.labels",
        "ancestors",
        "restrictions.read.restrictions.user",
        "restrictions.read.restrictions.group",
    ]
)
_ATTACHMENT_SUFFIXES = (".pdf", ".docx")
_READ_CHUNK = 1 << 16
_TRANSIENT = frozenset({502, 503, 504})  # retried like a 429; a 500 is the server's answer
_FIRST_BACKOFF_S = 0.5  # a transient 5xx without Retry-After: 0.5 s, 1 s, 2 s…
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
Json = dict[str, Any]


class ConfluenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["confluence"]
    name: str
    url: str = Field(description="https://acme.atlassian.net/wiki or https://confluence.acme.com")
    cloud: bool = True
    spaces: list[str] = Field(min_length=1)
    username: str | None = None  # Cloud: the account's email
    token_env: str  # the NAME of the variable holding the token, never the token
    everyone_group: str | None = None  # a read restriction to this group restricts nobody
    attachments: bool = False
    max_retries: int = Field(5, ge=0)
    max_retry_wait_s: float = Field(60.0, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "url must be the site's http(s) address, e.g. https://acme.atlassian.net/wiki"
            )
        return url.strip().rstrip("/")

    @field_validator("spaces")
    @classmethod
    def _space_keys(cls, spaces: list[str]) -> list[str]:
        for key in spaces:
            if not key.strip() or any(c.isspace() or c in "\"\\'" for c in key):
                raise ValueError(f"{key!r} is not a space key (like ENG or ~jsmith)")
        return spaces

    @field_validator("token_env")
    @classmethod
    def _variable_name(cls, name: str) -> str:
        if not _ENV_NAME.match(name):
            raise ValueError("token_env names an environment variable, like CONFLUENCE_TOKEN")
        return name

    @model_validator(mode="after")
    def _cloud_needs_username(self) -> ConfluenceConfig:
        if self.cloud and not self.username:
            raise ValueError("Confluence Cloud needs username: the email of the token's account")
        return self


@dataclass(frozen=True)
class _Ref:
    """What `load` needs besides the item: where its bytes are."""

    download: str | None = None  # an attachment's absolute download URL
    size: int | None = None  # an attachment's size as listed


class ConfluenceSource(RemoteSource):
    kind = "confluence"

    def __init__(self, config: ConfluenceConfig, environ: Mapping[str, str] = os.environ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ
        self._http: _Http | None = None

    # -- listing ------------------------------------------------------------------------
    def items(self) -> Iterable[Item]:
        http = self._connect()
        for space in self.config.spaces:
            http.check_space(space)
            pages = list(_unique(http.listing(space, "page", _PAGE_EXPAND)))
            restricted = _effective_restrictions(pages, self.config.everyone_group)
            listed: dict[str, Item] = {}
            for page in pages:
                item = self._page_item(space, page, restricted[str(page["id"])])
                listed[item.id] = item
                yield item
            if self.config.attachments:
                yield from self._attachment_items(http, space, listed)

    def _page_item(self, space: str, page: Json, restricted: bool) -> Item:
        page_id = str(page["id"])
        title = str(page.get("title") or page_id)
        version = _dig(page, "version")
        number = version.get("number")
        return Item(
            id=page_id,
            version=str(number) if number is not None else None,
            suffix=".md",
            link=self._web_link(page),
            shown=f"{space}: {title}",
            meta=ItemMeta(
                title=title,
                owner=_dig(version, "by").get("displayName") or None,
                tags=_labels(page),
                modified=_day(version.get("when")),
                restricted=restricted,
            ),
            payload=_Ref(),
        )

    def _attachment_items(self, http: _Http, space: str, pages: dict[str, Item]) -> Iterator[Item]:
        for attachment in _unique(http.listing(space, "attachment", "version,container")):
            title = str(attachment.get("title") or "")
            suffix = os.path.splitext(title.lower())[1]
            page = pages.get(str(_dig(attachment, "container").get("id", "")))
            download = _dig(attachment, "_links").get("download")
            if suffix not in _ATTACHMENT_SUFFIXES or page is None or not download:
                continue  # not a document we read, or not on a listed page
            version = _dig(attachment, "version")
            size = _dig(attachment, "extensions").get("fileSize")
            url = http.absolute(str(download))
            yield Item(
                id=str(attachment["id"]),
                version=str(version["number"]) if "number" in version else None,
                suffix=suffix,
                link=url,
                shown=f"{page.label} / {title}",
                meta=ItemMeta(
                    title=title,
                    owner=_dig(version, "by").get("displayName") or None,
                    tags=page.meta.tags,
                    modified=_day(version.get("when")),
                    restricted=page.meta.restricted,  # an attachment is seen with its page
                ),
                payload=_Ref(url, size if isinstance(size, int) else None),
            )

    def _web_link(self, page: Json) -> str | None:
        webui = _dig(page, "_links").get("webui")
        return self.config.url + "/" + str(webui).lstrip("/") if webui else None

    # -- loading ------------------------------------------------------------------------
    def load(self, item: Item, max_bytes: int) -> bytes:
        http = self._connect()
        ref: _Ref = item.payload
        if ref.download is not None:
            if ref.size is not None and ref.size > max_bytes:
                raise DocumentError(too_big_reason(ref.size, max_bytes))
            return http.download(ref.download, max_bytes, f"downloading {item.label}")
        page = http.page_body(item.id, max_bytes, f"reading page {item.label}")
        storage = _dig(_dig(page, "body"), "storage").get("value")
        if not isinstance(storage, str):
            raise DocumentError("Confluence sent no storage-format body for this page")
        size = len(storage.encode("utf-8"))
        if size > max_bytes:
            raise DocumentError(too_big_reason(size, max_bytes))
        return storage_to_markdown(storage).encode("utf-8")

    def _connect(self) -> _Http:
        """The client, made on first use: a missing token fails the listing, not the set-up."""
        if self._http is None:
            token = (self._environ.get(self.config.token_env) or "").strip()
            if not token:
                raise SourceError(
                    f"the Confluence token is missing: set the environment variable "
                    f"${self.config.token_env} (token_env of source {self.name})"
                )
            self._http = _Http(self.config, token)
        return self._http


# -- HTTP -------------------------------------------------------------------------------


class _Http:
    """Requests to one Confluence site: retries on 429 and transient 5xx, errors in a
    person's words. Listing requests raise SourceError; loading ones (`loading=True`)
    DocumentError, except for what makes the whole site unusable this run."""

    def __init__(self, config: ConfluenceConfig, token: str) -> None:
        self.config = config
        self.base = config.url
        self.session = requests.Session()
        # Cloud: Basic with the account's email and an API token; Data Center: a bearer PAT.
        credentials = (
            {"username": config.username, "password": token} if config.cloud else {"token": token}
        )
        self.client = Confluence(
            self.base,
            cloud=config.cloud,
            session=self.session,
            timeout=TIMEOUT_S,
            retry_with_header=False,  # 429s are retried by `_send`, as often as configured
            **credentials,
        )

    def check_space(self, space: str) -> None:
        what = f"looking up space {space}"
        response = self._send(
            lambda: self.client.get(f"rest/api/space/{quote(space, safe='~')}", advanced_mode=True),
            what,
        )
        if response.status_code == 404:
            raise SourceError(
                f"Confluence has no space {space} at {self.base}, or the account behind "
                f"${self.config.token_env} may not view it (HTTP 404): check spaces in "
                f"source {self.config.name}"
            )
        self._json(response, what)

    def listing(self, space: str, kind: str, expand: str) -> Iterator[Json]:
        """Every result of the CQL search, across as many requests as its next links ask."""
        what = f"listing space {space}"
        cql = f'space = "{space}" and type = {kind}'
        params: dict[str, str | int] | None = {"cql": cql, "expand": expand, "limit": PAGE_LIMIT}
        url = "rest/api/content/search"
        seen: set[str] = set()
        while True:
            response = self._send(self._getter(url, params), what)
            body = self._json(response, what)
            results = body.get("results")
            if not isinstance(results, list):
                raise SourceError(self._not_confluence(response, what))
            yield from (r for r in results if isinstance(r, dict) and "id" in r)
            following = _dig(body, "_links").get("next")
            if not following or not results:
                return
            url, params = self.absolute(str(following)), None
            if url in seen:
                raise SourceError(f"Confluence's listing of space {space} never ends: {url}")
            seen.add(url)

    def _getter(
        self, url: str, params: Mapping[str, str | int] | None
    ) -> Callable[[], requests.Response]:
        absolute = bool(urlsplit(url).scheme)
        return lambda: self.client.get(
            url, params=dict(params) if params else None, absolute=absolute, advanced_mode=True
        )

    def page_body(self, page_id: str, max_bytes: int, what: str) -> Json:
        url = f"{self.base}/rest/api/content/{quote(page_id, safe='')}"
        # JSON escaping can make the body up to six times longer (\u003c for '<'): an answer
        # longer than that holds a page over the limit whatever its escaping.
        cap = 6 * max_bytes + 65536
        data = self._stream(url, {"expand": "body.storage,version"}, what, cap, max_bytes)
        try:
            parsed = json.loads(data)
        except (ValueError, RecursionError):
            raise DocumentError(
                f"Confluence ({url}) sent something other than JSON while {what}"
            ) from None
        if not isinstance(parsed, dict):
            raise DocumentError(f"Confluence sent an unexpected answer while {what}")
        return parsed

    def download(self, url: str, max_bytes: int, what: str) -> bytes:
        return self._stream(url, None, what, max_bytes, max_bytes)

    def _stream(
        self, url: str, params: Mapping[str, str] | None, what: str, cap: int, max_bytes: int
    ) -> bytes:
        """The answer's bytes, refused (too big for `max_bytes`) once more than `cap` came."""

        def send() -> requests.Response:
            return self.session.get(
                url, params=params, stream=True, timeout=TIMEOUT_S, allow_redirects=True
            )

        response = self._send(send, what, loading=True)
        with response:
            if response.status_code == 404:
                raise ItemGoneError("deleted in Confluence since it was listed (HTTP 404)")
            if response.status_code == 401:
                raise SourceError(self._refused(response))
            if response.status_code != 200:
                raise DocumentError(
                    f"Confluence answered HTTP {response.status_code} while {what}"
                    f"{self._tries(response)}: {_said(response)}"
                )
            return _read_bounded(response, cap, max_bytes)

    def _send(
        self, send: Callable[[], requests.Response], what: str, loading: bool = False
    ) -> requests.Response:
        """The first answer that is neither a 429 nor a transient 5xx (or the last 5xx, once
        the retries are spent); a rate limit that never lifts fails the source. A request that
        gets no answer fails the source while listing, the item alone while `loading`."""
        tries = self.config.max_retries + 1
        for attempt in range(1, tries + 1):
            try:
                response = send()
            except requests.RequestException as error:
                if loading:
                    raise DocumentError(self._no_answer(error, what)) from None
                raise SourceError(self._unreachable(error)) from None
            except ValueError as error:  # a URL that urllib3 or the client cannot parse
                reason = (
                    f"cannot ask Confluence at {self.base} while {what} ({type(error).__name__})"
                )
                raise (DocumentError if loading else SourceError)(reason) from None
            transient = response.status_code in _TRANSIENT
            if response.status_code != 429 and not (transient and attempt < tries):
                return response
            wait = self._wait(response, attempt)
            response.close()
            if attempt < tries:
                time.sleep(wait)
        raise SourceError(
            f"rate limited by Confluence while {what} (HTTP 429): gave up after {tries} tries "
            f"(max_retries of source {self.config.name} is {self.config.max_retries})"
        )

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """Retry-After when the server says it (seconds or a date), else doubling (from 1 s
        for a 429, from 0.5 s for a transient 5xx); capped at max_retry_wait_s."""
        said = _retry_after(response.headers.get("Retry-After"))
        first = 1.0 if response.status_code == 429 else _FIRST_BACKOFF_S
        wait = said if said is not None else first * 2 ** (attempt - 1)
        return min(wait, self.config.max_retry_wait_s)

    def _tries(self, response: requests.Response) -> str:
        if response.status_code not in _TRANSIENT or not self.config.max_retries:
            return ""
        return f" (gave up after {self.config.max_retries + 1} tries)"

    def _json(self, response: requests.Response, what: str) -> Json:
        if response.status_code in (401, 403):
            raise SourceError(self._refused(response, what))
        if response.status_code != 200:
            raise SourceError(
                f"Confluence answered HTTP {response.status_code} while {what}"
                f"{self._tries(response)}: {_said(response)}"
            )
        try:
            body = response.json()
        except (ValueError, RecursionError):  # requests' JSONDecodeError is a ValueError
            raise SourceError(self._not_json(response, what)) from None
        if not isinstance(body, dict):
            raise SourceError(self._not_confluence(response, what))
        return body

    def _refused(self, response: requests.Response, what: str = "") -> str:
        variable = f"${self.config.token_env}"
        if response.status_code == 401:
            check = (
                f"username ({self.config.username}) and the API token in {variable}"
                if self.config.cloud
                else f"the personal access token in {variable}"
            )
            return f"Confluence refused the credentials (HTTP 401): check {check}"
        return (
            f"Confluence refused access while {what} (HTTP 403): the account whose token is in "
            f"{variable} may not read it; grant it the space's view permission"
        )

    def _unreachable(self, error: requests.RequestException) -> str:
        return (
            f"cannot reach Confluence at {self.base} ({_why(error)}): "
            f"check url of source {self.config.name}"
        )

    def _no_answer(self, error: requests.RequestException, what: str) -> str:
        return f"Confluence at {self.base} gave no answer while {what} ({_why(error)})"

    def _not_json(self, response: requests.Response, what: str) -> str:
        kind = response.headers.get("Content-Type", "no content type")
        return (
            f"{response.url or self.base} answered with something that is not JSON while "
            f"{what} (got {kind}; a proxy's or a login page?): check url of source "
            f"{self.config.name} (Cloud: https://<site>.atlassian.net/wiki)"
        )

    def _not_confluence(self, response: requests.Response, what: str) -> str:
        kind = response.headers.get("Content-Type", "no content type")
        return (
            f"{self.base} did not answer like Confluence's REST API while {what} (got {kind}): "
            f"check url of source {self.config.name} (Cloud: https://<site>.atlassian.net/wiki)"
        )

    def absolute(self, link: str) -> str:
        """A link from an answer, made absolute; never to another host (it would get our token)."""
        base = urlsplit(self.base)
        try:
            if urlsplit(link).scheme:
                target = link
            elif link.startswith("/"):
                target = self.base + link  # Confluence's links are relative to the site's base
            else:
                target = urljoin(self.base + "/", link)
            where = urlsplit(target)[:2]
        except ValueError:
            raise SourceError(f"Confluence sent a link that is not a URL ({link!r})") from None
        if where != base[:2]:
            raise SourceError(f"Confluence sent a link to another site ({target}); not followed")
        return target


def _read_bounded(response: requests.Response, cap: int, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise DocumentError(too_big_reason(int(declared), max_bytes))
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            total += len(chunk)
            if total > cap:  # the size shown is what came before reading stopped
                raise DocumentError(too_big_reason(total, max_bytes))
            chunks.append(chunk)
    except requests.RequestException as error:
        raise DocumentError(
            f"the connection broke while reading ({type(error).__name__})"
        ) from None
    return b"".join(chunks)


def _why(error: requests.RequestException) -> str:
    """What went wrong with a request, short: never its headers (they hold the token)."""
    said = str(error).lower()
    if "refused" in said:
        return "connection refused"
    if isinstance(error, requests.Timeout):
        return f"no answer within {TIMEOUT_S} s"
    if isinstance(error, requests.TooManyRedirects):
        return "too many redirects"
    if isinstance(error, requests.ConnectionError) and any(
        word in said for word in ("reset", "aborted", "remotedisconnected", "closed")
    ):
        return "the connection was closed before an answer came"
    return type(error).__name__


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _said(response: requests.Response) -> str:
    """The server's own words about an error, short."""
    try:
        body = response.json()
    except (ValueError, RecursionError, requests.RequestException):
        body = None
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])[:300]
    try:
        text = " ".join((response.text or "").split())
    except requests.RequestException:  # the body broke off: the status says enough
        text = ""
    return text[:300] or (response.reason or "no message")


# -- listing entries --------------------------------------------------------------------


def _dig(entry: Json, key: str) -> Json:
    value = entry.get(key)
    return value if isinstance(value, dict) else {}


def _unique(entries: Iterable[Json]) -> Iterator[Json]:
    """Each id once: an offset-paged listing repeats an entry when pages move meanwhile."""
    seen: set[str] = set()
    for entry in entries:
        if str(entry["id"]) not in seen:
            seen.add(str(entry["id"]))
            yield entry


def _labels(page: Json) -> tuple[str, ...]:
    results = _dig(_dig(page, "metadata"), "labels").get("results")
    listed = results if isinstance(results, list) else []
    names = [str(r["name"]) for r in listed if isinstance(r, dict) and r.get("name")]
    return tuple(dict.fromkeys(names))


def _day(when: object) -> date | None:
    if not isinstance(when, str):
        return None
    try:
        return datetime.fromisoformat(when.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _results(entry: object) -> list[Json] | None:
    """The entries of an expanded list (`{"results": [...]}`); None when it is not there."""
    results = entry.get("results") if isinstance(entry, dict) else None
    if not isinstance(results, list):
        return None
    return [r for r in results if isinstance(r, dict)]


def _keeps_someone_out(page: Json, everyone_group: str | None) -> bool:
    """Whether the page's own read restriction hides it from anyone: True when not said.

    Only a restriction whose user and group lists are both there (expanded) and both empty
    restricts nobody; a missing or unexpanded list may hide anyone, so it counts as hiding."""
    restrictions = page.get("restrictions")
    if not isinstance(restrictions, dict) or not isinstance(restrictions.get("read"), dict):
        return True
    said = restrictions["read"].get("restrictions")
    if not isinstance(said, dict):
        return True
    users, groups = _results(said.get("user")), _results(said.get("group"))
    if users is None or groups is None:
        return True
    if not users and not groups:
        return False
    everyone = (everyone_group or "").casefold()
    return not (everyone and any(str(g.get("name", "")).casefold() == everyone for g in groups))


def _effective_restrictions(pages: list[Json], everyone_group: str | None) -> dict[str, bool]:
    """Page id -> staff-only: restricted itself or below a restricted (or unknown) ancestor."""
    own = {str(p["id"]): _keeps_someone_out(p, everyone_group) for p in pages}
    effective: dict[str, bool] = {}
    for page in pages:
        ancestors = page.get("ancestors")
        page_id = str(page["id"])
        if not isinstance(ancestors, list):  # not said: an ancestor may be restricted
            effective[page_id] = True
            continue
        above = [str(a.get("id")) for a in ancestors if isinstance(a, dict)]
        effective[page_id] = own[page_id] or any(own.get(a, True) for a in above)
    return effective


# -- storage format to Markdown ---------------------------------------------------------

_PANELS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip"}
_CODE_MACROS = {"code", "noformat"}
_MACROS = ["ac:structured-macro", "ac:macro"]


def storage_to_markdown(storage: str) -> str:
    """Markdown of a page's storage format (XHTML with `ac:` macros and `ri:` references):
    headings, paragraphs, lists, pipe tables, fenced code; other macros give their text."""
    try:
        soup = BeautifulSoup(storage.replace("\x00", ""), "html.parser")
    except ParserRejectedMarkup as error:
        first = str(error).strip().splitlines()[-1] if str(error).strip() else "rejected"
        raise DocumentError(f"the page's storage format is not readable XHTML ({first})") from None
    try:
        _plain_html(soup)
        markdown = _Converter().convert_soup(soup)
    except RecursionError:
        raise DocumentError("the page is nested too deeply to be converted") from None
    return _tidy(markdown)


def _tidy(markdown: str) -> str:
    lines = [line.rstrip() for line in markdown.strip().splitlines()]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    # Ingest reads a leading '---' or '+++' block as the document's own header, which would
    # let a page's text set its citation link: such a first line is escaped.
    return "\\" + text if text.startswith(("---", "+++")) else text


def _plain_html(soup: BeautifulSoup) -> None:
    """Rewrites Confluence's own elements as the HTML they stand for, innermost first."""
    for macro in reversed(soup.find_all(_MACROS)):
        _replace_macro(soup, macro)
    for link in soup.find_all("ac:link"):
        link.replace_with(_link_text(link))
    for tag in soup.find_all(["ac:image", "ac:emoticon", "ac:placeholder", "ac:adf-attribute"]):
        tag.decompose()
    for task_list in soup.find_all("ac:task-list"):
        task_list.name = "ul"
    for task in soup.find_all("ac:task"):
        status = task.find("ac:task-status")
        done = status is not None and status.get_text(strip=True) == "complete"
        for field in task.find_all(["ac:task-id", "ac:task-status", "ac:task-uuid"]):
            field.decompose()
        task.name = "li"
        task.insert(0, NavigableString("[x] " if done else "[ ] "))
    for moment in soup.find_all("time"):
        moment.replace_with(str(moment.get("datetime") or moment.get_text()))
    for extension in soup.find_all("ac:adf-extension"):
        fallback = extension.find("ac:adf-fallback")
        if fallback is not None:
            extension.replace_with(fallback)
    for tag in soup.find_all(re.compile(r"^ri:")):
        tag.decompose()
    for tag in soup.find_all(re.compile(r"^ac:")):
        tag.unwrap()  # layouts, comment markers, fallbacks: their text stays


def _parameter(macro: Tag, name: str) -> str:
    for parameter in macro.find_all("ac:parameter", recursive=False):
        if parameter.get("ac:name") == name:
            return parameter.get_text(strip=True)
    return ""


def _replace_macro(soup: BeautifulSoup, macro: Tag) -> None:
    name = str(macro.get("ac:name", "")).lower()
    rich = macro.find("ac:rich-text-body", recursive=False)
    plain = macro.find("ac:plain-text-body", recursive=False)
    if name in _CODE_MACROS or (rich is None and plain is not None):
        block = soup.new_tag("pre")
        block["data-language"] = _parameter(macro, "language") if name == "code" else ""
        block.string = plain.get_text() if plain is not None else macro.get_text()
        macro.replace_with(block)
    elif name == "status":
        macro.replace_with(_parameter(macro, "title"))
    elif rich is not None:
        macro.replace_with(_with_label(soup, rich, _label(name, macro)))
    else:
        macro.decompose()  # toc, jira, children, anchor…: nothing of their own to read


def _label(name: str, macro: Tag) -> str:
    title = _parameter(macro, "title")
    if name in _PANELS:
        return f"{_PANELS[name]}: {title}" if title else f"{_PANELS[name]}:"
    return title


def _with_label(soup: BeautifulSoup, body: Tag, label: str) -> Tag:
    """A macro's body as a <div>, its label ("Note:", an expand's title) before its text."""
    body.name = "div"
    body.attrs = {}
    if not label:
        return body
    first = body.find(True, recursive=False)
    if label.endswith(":") and first is not None and first.name == "p":
        first.insert(0, NavigableString(label + " "))
    else:
        heading = soup.new_tag("p")
        heading.string = label
        body.insert(0, heading)
    return body


def _link_text(link: Tag) -> str:
    body = link.find(["ac:link-body", "ac:plain-text-link-body"])
    if body is not None and body.get_text(strip=True):
        return body.get_text()
    for tag, attribute in (
        ("ri:page", "ri:content-title"),
        ("ri:blog-post", "ri:content-title"),
        ("ri:attachment", "ri:filename"),
        ("ri:space", "ri:space-key"),
        ("ri:url", "ri:value"),
    ):
        target = link.find(tag)
        if target is not None and target.get(attribute):
            return str(target.get(attribute))
    return ""  # a user mention names an account id, not a person


class _Converter(MarkdownConverter):
    """markdownify, told to keep the text plain: links as their text, no images, tables as
    the project's pipe tables, code fenced whatever backticks it holds."""

    def __init__(self) -> None:
        super().__init__(
            heading_style=ATX,
            bullets="-",
            escape_asterisks=False,
            escape_underscores=False,
        )

    def convert_a(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return text

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return ""

    def convert_pre(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        code = el.get_text().strip("\n")
        if not code.strip():
            return ""
        longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
        fence = "`" * max(3, longest + 1)
        language = str(el.get("data-language") or "")
        return f"\n\n{fence}{language}\n{code}\n{fence}\n\n"

    def convert_table(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        rows = _table_rows(el)
        rows = rows if "_inline" not in parent_tags else []  # in a cell: the cell has its text
        return "\n\n" + markdown_table(rows) + "\n\n" if rows else ""


def _table_rows(table: Tag) -> list[list[str]]:
    """Cell texts row by row; a merged cell's text once, its other places left empty."""
    grid: list[list[str]] = []
    below: dict[int, int] = {}  # column -> rows a rowspan still covers
    for tr in table.find_all("tr"):
        if tr.find_parent("table") is not table:
            continue
        row: list[str] = []
        for cell in tr.find_all(["td", "th"], recursive=False):
            while below.get(len(row)):
                below[len(row)] -= 1
                row.append("")
            down, across = _span(cell, "rowspan"), _span(cell, "colspan")
            for offset in range(across):
                if down > 1:
                    below[len(row)] = down - 1
                row.append(" ".join(cell.get_text(" ").split()) if offset == 0 else "")
        while below.get(len(row)):
            below[len(row)] -= 1
            row.append("")
        if any(row):
            grid.append(row)
    return grid


def _span(cell: Tag, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name) or "1").strip()), 50))
    except ValueError:
        return 1
