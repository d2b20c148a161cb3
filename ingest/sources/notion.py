"""Notion: the pages under one root page, or the rows of one database, read over Notion's API.

    sources:
      - name: wiki
        type: notion
        root_page: https://www.notion.so/acme/CoE-Handbook-0123456789abcdef0123456789abcdef
        token_env: NOTION_TOKEN      # the NAME of the variable holding the secret
        public: false

Setting up Notion (once, by a workspace owner): create an internal integration at
https://www.notion.so/profile/integrations with the "Read content" capability ("Read user
information" too, for owners' names; without it pages have no owner); put its secret in the
environment variable named by `token_env`; open the root page (or the database) in Notion and
add the integration under ••• > Connections. Sharing a page shares every page below it.
`root_page` and `database` take a page's URL or its id.

What is read: with `root_page`, the root and every page below it, found through `child_page`
blocks at the top of each page or inside columns (pages tucked inside toggles are not found),
and the rows of databases placed on those pages; with `database`, the rows of the database
(pages nested inside rows are not listed). A page's version is its `last_edited_time`, so an
unchanged page is never fetched again (Notion rounds that time down to the minute, so a page
edited in the last two minutes is fetched and compared by content instead). The API version
used is 2025-09-03, where a database holds data sources and rows belong to those.

Listing reads each page (and, with `root_page`, the
blocks at its top level, to find the pages below it); those blocks are reused when the page is
loaded. Notion allows about three requests a second: a tree of 500 pages takes a few minutes
to list. A page's text becomes Markdown under its title (`#`; Notion's headings 1-3 become
`##`-`####`): lists, to-dos (`- [ ]`, read as checklist items), quotes, callouts, toggles,
code and tables are kept; images, files, embeds, dividers and links to other pages are
dropped (their captions are kept).

Permissions: the Notion API does not say who may see a page, so every page from Notion is
staff-only (audience coe-staff) unless the entry says `public: true`. `public: true` is the
operator's statement that everything under this root (or in this database) may be read by
the whole company. Nothing in a page's text changes that either way: the Markdown starts
with the page's title, so a page cannot carry a front-matter header (`audience: ...`) of its
own; keep staff-only pages out of a public root.

Failures: a missing token variable, a refused token, a root that is not shared with the
integration, or a rate limit that outlasts `max_retries` retries make the whole source fail
for this run (its pages indexed before stay searchable); so does, while listing, an API that
cannot be reached, keeps failing or answers something other than JSON. The client waits out
a 429 for its Retry-After, capped at `max_retry_wait_s`. A page that is gone by the time it
is loaded, that is malformed, whose text is over the size limit, or whose blocks cannot be
fetched (no answer, a server error after the retries) fails on its own.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import httpx
from notion_client import APIErrorCode, APIResponseError, Client
from notion_client.client import ClientOptions, RetryOptions
from notion_client.errors import (
    HTTPResponseError,
    InvalidPathParameterError,
    RequestTimeoutError,
)
from notion_client.helpers import extract_notion_id
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.errors import DocumentError
from ingest.safe_open import too_big_reason
from ingest.sources.base import Item, ItemGoneError, ItemMeta, RemoteSource, SourceError
from ingest.tables import markdown_table

# The API version whose shapes this module reads (databases hold data sources); pinned, so
# that a newer client library cannot change them underneath.
NOTION_VERSION = "2025-09-03"
PAGE_SIZE = 100  # the most Notion gives per request
MAX_DEPTH = 10  # nesting levels of blocks read below a page; deeper blocks are left out
# Notion rounds last_edited_time down to the minute: a page edited this recently may be edited
# again within the same minute without its version changing, so its content is compared.
RECENT = timedelta(minutes=2)

_LOG = logging.getLogger(__name__)
_LIST_KINDS = frozenset({"bulleted_list_item", "numbered_list_item", "to_do"})
# Blocks whose children are other items (pages, databases) rather than this page's text.
_NOT_CONTENT = frozenset({"child_page", "child_database"})
_LAYOUT = frozenset({"column_list", "column"})
_DROPPED = frozenset(
    {"divider", "breadcrumb", "table_of_contents", "link_to_page", "unsupported", "template"}
)
_MEDIA = frozenset({"image", "video", "file", "pdf", "audio", "embed", "bookmark", "link_preview"})


class NotionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["notion"]
    name: str
    root_page: str | None = None  # a page's id or URL: it and every page below it
    database: str | None = None  # a database's id or URL: its rows
    token_env: str = Field("NOTION_TOKEN", min_length=1)  # the variable's name, not the secret
    public: bool = False  # the operator says the whole company may read every page here
    api_url: str | None = None  # https://api.notion.com unless set (a test double)
    max_retries: int = Field(5, ge=0)
    max_retry_wait_s: float = Field(60.0, ge=0)

    @model_validator(mode="after")
    def _one_place(self) -> NotionConfig:
        if (self.root_page is None) == (self.database is None):
            raise ValueError("give exactly one of root_page (a page and its subpages) or database")
        for key in ("root_page", "database"):
            given = getattr(self, key)
            if given is not None:
                found = extract_notion_id(given)
                if found is None:
                    raise ValueError(f"{key} {given!r} is neither a Notion id nor a page's URL")
                setattr(self, key, found)
        return self


class _NotFound(Exception):
    """Notion says the object does not exist, or is not shared with the integration."""


class _Restricted(SourceError):
    """The integration lacks a capability (reading content, or reading users)."""


class _Failed(Exception):
    """One request failed in a way that is not the whole source's fault (a 400, a 500 after
    the client's retries, a reply that is not what the API documents)."""


class _Unreachable(Exception):
    """One request got no answer (timed out, connection refused or reset). It fails the
    listing; while a page is loaded, only that page."""


@dataclass
class _Node:
    """A block with its own text and the blocks nested below it."""

    block: dict[str, Any]
    kind: str
    text: str
    children: list[_Node] = field(default_factory=list)


class _Budget:
    """Counts the bytes of text read so far; raises once they pass the limit, so that the
    rest of a huge page is never fetched."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def spend(self, text: str) -> None:
        self.used += len(text.encode("utf-8")) + 1
        if self.used > self.max_bytes:
            reason = too_big_reason(self.used, self.max_bytes)
            raise DocumentError(f"{reason}; the rest of the Notion page was not fetched")


ListChildren = Callable[[str], Iterable[Any]]


# -- blocks to Markdown ------------------------------------------------------------------------


def _malformed(block: Any, what: str) -> DocumentError:
    kind = block.get("type", "?") if isinstance(block, dict) else type(block).__name__
    where = block.get("id", "?") if isinstance(block, dict) else "?"
    return DocumentError(f"Notion sent a malformed {kind} block ({where}): {what}")


def _payload(block: dict[str, Any], kind: str) -> dict[str, Any]:
    payload = block.get(kind, {})
    if not isinstance(payload, dict):
        raise _malformed(block, f"'{kind}' is not an object")
    return payload


def rich_text(parts: Any, block: dict[str, Any] | None = None) -> str:
    """The text of a rich-text array; links and mentions keep the text they show."""
    if not isinstance(parts, list):
        raise _malformed(block or {}, "its rich text is not a list")
    texts = [p.get("plain_text") if isinstance(p, dict) else None for p in parts]
    if not all(isinstance(t, str) for t in texts):
        raise _malformed(block or {}, "a rich-text part has no plain_text")
    return "".join(t for t in texts if isinstance(t, str))


def _own_text(block: dict[str, Any], kind: str) -> str:
    """The text a block carries itself (not its children's)."""
    payload = _payload(block, kind)
    if kind == "table_row":
        cells = payload.get("cells", [])
        if not isinstance(cells, list):
            raise _malformed(block, "its cells are not a list")
        return "\t".join(rich_text(cell, block) for cell in cells)
    if kind == "equation":
        expression = payload.get("expression", "")
        return expression if isinstance(expression, str) else ""
    if kind in _MEDIA:
        return rich_text(payload.get("caption", []), block)
    if kind in _DROPPED or kind in _NOT_CONTENT:
        return ""
    return rich_text(payload.get("rich_text", []), block)


def _kind_of(block: Any) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise _malformed(block, "it has no type")
    return str(block["type"])


def _nodes(
    parent_id: str, list_children: ListChildren, budget: _Budget, depth: int = 0
) -> list[_Node]:
    """The blocks below `parent_id`, read depth-first while the budget lasts."""
    nodes: list[_Node] = []
    for block in list_children(parent_id):
        kind = _kind_of(block)
        node = _Node(block, kind, _own_text(block, kind))
        budget.spend(node.text)
        fetch = block.get("has_children") is True and kind not in _NOT_CONTENT
        if fetch and depth < MAX_DEPTH:
            block_id = block.get("id")
            if not isinstance(block_id, str):
                raise _malformed(block, "it has children but no id")
            node.children = _nodes(block_id, list_children, budget, depth + 1)
        nodes.append(node)
    return nodes


def _indented(text: str, by: str) -> str:
    return "\n".join(by + line if line.strip() else line for line in text.splitlines())


def _list_item(marker: str, node: _Node) -> str:
    # Continuation lines and nested blocks sit under the item's text, past its marker.
    pad = " " * len(marker)
    first, *rest = node.text.splitlines() or [""]
    lines = [marker + first] + [pad + line for line in rest]
    if node.children:
        lines.append(_indented(_render(node.children), pad))
    return "\n".join(lines)


def _table(node: _Node) -> str:
    rows: list[list[str]] = []
    for child in node.children:
        if child.kind != "table_row":
            continue
        cells = _payload(child.block, "table_row").get("cells", [])
        rows.append([" ".join(rich_text(cell, child.block).split()) for cell in cells])
    return markdown_table(rows) if any(rows) else ""


def _code(node: _Node) -> str:
    language = _payload(node.block, "code").get("language")
    shown = language.replace(" ", "-") if isinstance(language, str) else ""
    fence = "```"
    while fence in node.text:  # the code itself holds a fence: use a longer one
        fence += "`"
    return f"{fence}{'' if shown == 'plain-text' else shown}\n{node.text}\n{fence}"


def _heading(node: _Node) -> str:
    # One level down: the page's title is the document's only '#' heading.
    level = int(node.kind[-1]) + 1
    return "#" * level + " " + " ".join(node.text.split())


def _alone(node: _Node) -> str:
    """A block that is not a list item, followed by its children."""
    kind = node.kind
    if kind.startswith("heading_") and kind[-1] in "123":
        own = _heading(node)
    elif kind == "code":
        own = _code(node)
    elif kind == "table":
        return _table(node)
    elif kind == "quote":
        own = "\n".join("> " + line for line in node.text.splitlines())
    elif kind in _NOT_CONTENT or kind in _DROPPED:
        return ""
    else:
        own = node.text.strip()
    below = _render(node.children) if node.children else ""
    return "\n\n".join(part for part in (own, below) if part)


def _render(nodes: list[_Node]) -> str:
    """Markdown for sibling blocks: list items one per line, other blocks apart."""
    pieces: list[tuple[str, str]] = []
    number = 0
    for node in nodes:
        number = number + 1 if node.kind == "numbered_list_item" else 0
        if node.kind == "bulleted_list_item":
            text = _list_item("- ", node)
        elif node.kind == "numbered_list_item":
            text = _list_item(f"{number}. ", node)
        elif node.kind == "to_do":
            checked = _payload(node.block, "to_do").get("checked") is True
            text = _list_item("- [x] " if checked else "- [ ] ", node)
        else:
            text = _alone(node)
        if text.strip():
            pieces.append((node.kind, text))
    out = ""
    for index, (kind, text) in enumerate(pieces):
        if index:
            # Items of one list stay together; anything else (another kind of list too)
            # starts a paragraph of its own.
            together = kind in _LIST_KINDS and pieces[index - 1][0] == kind
            out += "\n" if together else "\n\n"
        out += text
    return out


def page_markdown(title: str, page_id: str, list_children: ListChildren, max_bytes: int) -> str:
    """The page as Markdown, starting with its title; DocumentError if it is malformed or its
    text passes `max_bytes` (reading stops there)."""
    budget = _Budget(max_bytes)
    budget.spend(title)
    body = _render(_nodes(page_id, list_children, budget))
    text = f"# {title}\n\n{body}\n" if body else f"# {title}\n"
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise DocumentError(too_big_reason(size, max_bytes))
    return text


# -- pages ---------------------------------------------------------------------------------------


def _title(page: dict[str, Any]) -> str:
    properties = page.get("properties")
    if isinstance(properties, dict):
        for value in properties.values():
            if isinstance(value, dict) and value.get("type") == "title":
                try:
                    return " ".join(rich_text(value.get("title", [])).split()) or "Untitled"
                except DocumentError:
                    break
    return "Untitled"


def _tags(page: dict[str, Any]) -> tuple[str, ...]:
    properties = page.get("properties")
    if not isinstance(properties, dict):
        return ()
    for name in ("Tags", "tags"):
        value = properties.get(name)
        if isinstance(value, dict) and value.get("type") == "multi_select":
            options = value.get("multi_select")
            if not isinstance(options, list):
                return ()
            return tuple(
                o["name"] for o in options if isinstance(o, dict) and isinstance(o.get("name"), str)
            )
    return ()


def _edited(page: dict[str, Any]) -> datetime | None:
    stamp = page.get("last_edited_time")
    if not isinstance(stamp, str):
        return None
    try:
        edited = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return edited if edited.tzinfo else edited.replace(tzinfo=UTC)


def _gone(page: dict[str, Any]) -> bool:
    return page.get("archived") is True or page.get("in_trash") is True


def _utc_now() -> datetime:
    return datetime.now(UTC)


class NotionSource(RemoteSource):
    kind = "notion"

    def __init__(
        self,
        config: NotionConfig,
        environ: Mapping[str, str] = os.environ,
        *,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.config = config
        self.name = config.name
        self._environ = environ
        self._now = now
        self._base_url = (config.api_url or "https://api.notion.com").rstrip("/")
        self._client: Client | None = None
        self._owners: dict[str, str | None] = {}

    # -- talking to Notion ---------------------------------------------------------------------

    def _api(self) -> Client:
        if self._client is None:
            token = self._environ.get(self.config.token_env, "").strip()
            if not token:
                raise SourceError(
                    f"the environment variable {self.config.token_env} is not set: put the "
                    "Notion integration's secret in it"
                )
            cap_ms = int(self.config.max_retry_wait_s * 1000)
            retry = RetryOptions(
                max_retries=self.config.max_retries,
                initial_retry_delay_ms=min(1000, cap_ms),
                max_retry_delay_ms=cap_ms,
            )
            # The client waits out 429s itself (Retry-After, capped by max_retry_delay_ms);
            # its log goes to ours, quietly: failures are reported by the ingest run.
            options = ClientOptions(
                auth=token,
                base_url=self._base_url,
                retry=retry,
                notion_version=NOTION_VERSION,
                logger=_LOG,
                log_level=logging.ERROR,
            )
            try:
                self._client = Client(options)
            except (httpx.InvalidURL, ValueError, TypeError) as error:
                raise SourceError(
                    f"api_url {self._base_url} is not a URL Notion can be asked at ({error})"
                ) from None
        return self._client

    def _close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _call(
        self, what: str, send: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """One request; SourceError for what stops the whole source, _NotFound, _Failed,
        _Unreachable. Whatever the client or httpx raises becomes one of these."""
        try:
            answer = send(*args, **kwargs)
        except APIResponseError as error:
            raise self._refusal(what, error) from None
        except HTTPResponseError as error:
            raise _Failed(f"Notion answered HTTP {error.status} to {what}") from None
        except RequestTimeoutError:
            raise _Unreachable(
                f"Notion at {self._base_url} did not answer {what} in time"
            ) from None
        except httpx.TransportError as error:
            raise _Unreachable(
                f"cannot reach Notion at {self._base_url} ({self._said(error)}) for {what}"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as error:
            # A body that cannot be decoded, too many redirects, a URL httpx refuses.
            raise _Failed(
                f"Notion at {self._base_url} could not be asked {what} ({self._said(error)})"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise _Failed(
                f"Notion's answer to {what} (from {self._base_url}) is not JSON: a proxy's or "
                "a login page? Check api_url and the network path to the API"
            ) from None
        except InvalidPathParameterError:  # an id from Notion that would change the path
            raise _Failed(f"Notion gave an id that cannot be asked about ({what})") from None
        except ValueError as error:
            raise _Failed(f"Notion could not be asked {what} ({self._said(error)})") from None
        if not isinstance(answer, dict):
            raise _Failed(f"Notion's answer to {what} is not a JSON object")
        return answer

    def _said(self, error: Exception) -> str:
        """The error's type and words, without the token (an httpx error may quote a header)."""
        said = f"{type(error).__name__}: {error}"
        token = self._environ.get(self.config.token_env, "").strip()
        return said.replace(token, "***") if token else said

    def _refusal(self, what: str, error: APIResponseError) -> Exception:
        code = error.code
        variable = self.config.token_env
        if code == APIErrorCode.Unauthorized:
            return SourceError(
                f"Notion refused the token in ${variable} (is it the integration's current secret?)"
            )
        if code == APIErrorCode.RateLimited:
            tries = self.config.max_retries + 1
            return SourceError(
                f"Notion rate limited {what}; gave up after {tries} tries "
                f"(max_retries: {self.config.max_retries}); try again later"
            )
        if code == APIErrorCode.RestrictedResource:
            return _Restricted(
                f"the Notion integration may not read {what}: give it the 'Read content' capability"
            )
        if code == APIErrorCode.ObjectNotFound:
            return _NotFound(str(error))
        return _Failed(f"Notion answered {error.status} {code.value} to {what}: {error}")

    def _paginate(self, what: str, send: Callable[..., Any], *args: Any) -> Iterator[Any]:
        """Every result of a paginated endpoint, one request per page of results."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            answer = self._call(what, send, *args, start_cursor=cursor, page_size=PAGE_SIZE)
            results = answer.get("results")
            if not isinstance(results, list):
                raise _Failed(f"Notion's answer to {what} has no list of results")
            yield from results
            cursor = answer.get("next_cursor")
            if answer.get("has_more") is not True:
                return
            if not isinstance(cursor, str) or not cursor or cursor in seen:
                raise _Failed(f"Notion's answer to {what} says there is more but gives no cursor")
            seen.add(cursor)

    def _children(self, block_id: str) -> Iterator[Any]:
        api = self._api()
        return self._paginate(f"the blocks of {block_id}", api.blocks.children.list, block_id)

    # -- listing -------------------------------------------------------------------------------

    def items(self) -> Iterable[Item]:
        try:
            if self.config.database is not None:
                for row in self._database_pages(self.config.database, root=True):
                    yield self._item(row, {})
            else:
                assert self.config.root_page is not None
                yield from self._tree(self.config.root_page)
        except (_Failed, _Unreachable) as error:
            raise SourceError(str(error)) from None
        finally:
            self._close()

    def _not_shared(self, what: str, object_id: str) -> SourceError:
        return SourceError(
            f"Notion has no {what} {object_id} that this integration can see: open it in "
            "Notion and add the integration under ••• > Connections (or fix the id)"
        )

    def _root(self, page_id: str) -> dict[str, Any]:
        try:
            page = self._call("the root page", self._api().pages.retrieve, page_id)
        except _NotFound:
            raise self._not_shared("page", page_id) from None
        if _gone(page):
            raise SourceError(f"the root page {page_id} is in Notion's trash")
        return page

    def _tree(self, root_id: str) -> Iterator[Item]:
        """The root and the pages below it, depth-first; each page's top-level blocks are read
        once, to find its subpages, and handed to `load` with the item."""
        stack: list[dict[str, Any]] = [self._root(root_id)]
        seen: set[str] = set()
        while stack:
            page = stack.pop()
            page_id = page.get("id")
            if not isinstance(page_id, str) or page_id in seen:
                continue
            seen.add(page_id)
            read: dict[str, list[Any]] = {}
            try:
                subpages, databases = self._discover(page_id, read)
            except _NotFound:
                continue  # deleted since its parent was read: no longer there to list
            yield self._item(page, read)
            below: list[dict[str, Any]] = []
            for child_id in subpages:
                child = self._page(child_id)
                if child is not None:
                    below.append(child)
            for database_id in databases:
                below.extend(self._rows(database_id))
            stack.extend(reversed(below))

    def _discover(self, page_id: str, read: dict[str, list[Any]]) -> tuple[list[str], list[str]]:
        """The ids of the subpages and databases on a page (at its top level or in columns);
        every list of blocks read is kept in `read`. _NotFound if the page itself is gone."""
        subpages: list[str] = []
        databases: list[str] = []
        pending = [page_id]
        while pending:
            parent = pending.pop(0)
            try:
                blocks = read[parent] = list(self._children(parent))
            except _NotFound:
                if parent == page_id:
                    raise
                continue  # a column removed meanwhile: loading the page will say so
            for block in blocks:
                if not isinstance(block, dict) or not isinstance(block.get("id"), str):
                    continue
                kind = block.get("type")
                if kind == "child_page":
                    subpages.append(block["id"])
                elif kind == "child_database":
                    databases.append(block["id"])
                elif kind in _LAYOUT and block.get("has_children") is True:
                    pending.append(block["id"])
        return subpages, databases

    def _page(self, page_id: str) -> dict[str, Any] | None:
        """A subpage found on a page; None when it went away meanwhile."""
        try:
            page = self._call(f"page {page_id}", self._api().pages.retrieve, page_id)
        except _NotFound:
            return None
        return None if _gone(page) else page

    def _rows(self, database_id: str) -> list[dict[str, Any]]:
        return list(self._database_pages(database_id, root=False))

    def _database_pages(self, database_id: str, root: bool) -> Iterator[dict[str, Any]]:
        """The live rows of every data source of a database (Notion-Version 2025-09-03: a
        database holds data sources, and rows belong to those)."""
        api = self._api()
        try:
            database = self._call(f"database {database_id}", api.databases.retrieve, database_id)
        except _NotFound:
            if root:
                raise self._not_shared("database", database_id) from None
            return
        sources = database.get("data_sources")
        if not isinstance(sources, list):
            raise _Failed(f"Notion's database {database_id} lists no data sources")
        for entry in sources:
            source_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(source_id, str):
                raise _Failed(f"Notion's database {database_id} lists a data source with no id")
            what = f"the rows of database {database_id}"
            for row in self._paginate(what, api.data_sources.query, source_id):
                if isinstance(row, dict) and row.get("object") == "page" and not _gone(row):
                    yield row

    def _item(self, page: dict[str, Any], read: dict[str, list[Any]]) -> Item:
        page_id = page.get("id")
        if not isinstance(page_id, str):
            raise _Failed("Notion sent a page without an id")
        edited = _edited(page)
        title = _title(page)
        url = page.get("url")
        recent = edited is None or self._now() - edited < RECENT
        return Item(
            id=page_id,
            version=None if recent else str(page.get("last_edited_time")),
            suffix=".md",
            link=url if isinstance(url, str) and url else _default_url(page_id),
            shown=title,
            meta=ItemMeta(
                title=title,
                owner=self._owner(page.get("last_edited_by")),
                tags=_tags(page),
                modified=_day(edited),
                restricted=not self.config.public,
            ),
            payload=(title, read),
        )

    def _owner(self, user: Any) -> str | None:
        """The name of the person who last edited a page: optional, since reading users needs
        a capability the integration may not have; looked up once per person."""
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str):
            return None
        if isinstance(user.get("name"), str):
            return str(user["name"])
        if user_id not in self._owners:
            try:
                found = self._call(f"user {user_id}", self._api().users.retrieve, user_id)
            except (_NotFound, _Failed, _Restricted):  # without the capability: no names
                found = {}
            name = found.get("name")
            self._owners[user_id] = name if isinstance(name, str) and name else None
        return self._owners[user_id]

    # -- loading -------------------------------------------------------------------------------

    def load(self, item: Item, max_bytes: int) -> bytes:
        title, read = item.payload if item.payload else (item.meta.title or item.id, {})

        def list_children(block_id: str) -> Iterable[Any]:
            if block_id in read:
                return read[block_id]
            return self._children(block_id)

        try:
            text = page_markdown(title, item.id, list_children, max_bytes)
        except _NotFound:
            raise ItemGoneError(
                f"the Notion page {item.label} was deleted or unshared since it was listed"
            ) from None
        except (_Failed, _Unreachable) as error:  # this page alone; its old version stays
            raise DocumentError(str(error)) from None
        return text.encode("utf-8")


def _default_url(page_id: str) -> str:
    return "https://www.notion.so/" + page_id.replace("-", "")


def _day(edited: datetime | None) -> date | None:
    return edited.date() if edited else None
