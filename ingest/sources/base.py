"""What every source offers the ingest run: a list of items with versions, and their bytes.

A source lists its items cheaply (an id, a version, metadata and a link for each); ingest
compares each version with the one it indexed and loads only the items that changed. An item
that is no longer listed is removed from the index. A source that cannot be listed at all
raises `SourceError`: the run reports it and keeps that source's last good content.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from ingest.errors import DocumentError
from ingest.records import FileEntry

# Manifest keys are `<source name>/<item id>`: a name is one path segment anyone can type.
SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class SourceError(Exception):
    """The whole source is unusable this run (unreachable, refused credentials, unknown space,
    a rate limit that never lifts). The message says what to fix, in a person's words."""


class ItemGoneError(DocumentError):
    """The item was listed but had gone by the time it was loaded (deleted mid-sync)."""


@dataclass(frozen=True)
class ItemMeta:
    """What the service itself says about an item; it completes the document's own header.

    `restricted` is the conservative reading of the service's permissions: True unless the
    source could tell that everyone in the company may see the item."""

    title: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    modified: date | None = None
    restricted: bool = True


@dataclass(frozen=True)
class Item:
    id: str  # stable inside its source: a page id, a file id, a path in a repository
    version: str | None  # etag, version number or modified time; None: compare the content
    suffix: str  # the type `load` returns: ".md", ".html", ".pdf", ".docx", ...
    link: str | None = None  # where a citation sends a reader
    meta: ItemMeta = field(default_factory=ItemMeta)
    shown: str = ""  # how reports name the item (a path, a page title); defaults to the id
    payload: Any = None  # private to the source that listed it

    @property
    def label(self) -> str:
        return self.shown or self.id


@dataclass(frozen=True)
class CheckResult:
    """`coe sources check`: could the source be reached, and how many items does it list."""

    ok: bool
    items: int = 0
    detail: str = ""


class Source(Protocol):
    """A place documents come from. `items` raises SourceError when the source cannot be
    listed; `load` raises DocumentError (or ItemGoneError) for one item, never for others."""

    name: str
    kind: str

    def items(self) -> Iterable[Item]: ...

    def load(self, item: Item, max_bytes: int) -> bytes: ...

    def key(self, item: Item) -> str:
        """The item's manifest key, unique across sources."""
        ...

    def doc_id(self, item: Item) -> str:
        """The document id chunks are addressed by (and a citation falls back to)."""
        ...

    def path(self, item: Item) -> str:
        """Where the item was read from, as the manifest records it."""
        ...

    def owns(self, key: str, entry: FileEntry) -> bool:
        """Whether an indexed entry came from this source (so it goes when no longer listed)."""
        ...


class RemoteSource:
    """Keys, ids and ownership shared by sources that are not local folders."""

    name: str
    kind: str

    def key(self, item: Item) -> str:
        return key_of(self.name, item.id)

    def doc_id(self, item: Item) -> str:
        return key_of(self.name, item.id)

    def path(self, item: Item) -> str:
        return item.link or f"{self.name}:{item.id}"

    def owns(self, key: str, entry: FileEntry) -> bool:
        # A folder's entries record an absolute path; a remote item's, its link or name:id.
        return key.startswith(self.name + "/") and not entry.path.startswith("/")


def key_of(source_name: str, item_id: str) -> str:
    """The manifest key of a remote item: unique across sources, the same on every machine."""
    return f"{source_name}/{item_id}"


def check(source: Source) -> CheckResult:
    """Lists the source once: reachability, credentials and the number of items."""
    try:
        count = sum(1 for _ in source.items())
    except SourceError as error:
        return CheckResult(False, detail=str(error))
    except Exception as error:  # a library's own exception: still a failed check, in words
        return CheckResult(False, detail=f"unexpected error ({type(error).__name__}: {error})")
    return CheckResult(True, items=count)
