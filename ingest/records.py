"""What the index stores about files and chunks, as pydantic models written to disk."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, Field

from ingest.checklists import Checklist

MANIFEST_VERSION = 1


class ChunkRecord(BaseModel):
    id: str
    doc_id: str  # the document's path relative to the folder it was ingested from
    chunk_index: int
    title: str
    heading: str
    text: str
    embed_text: str
    source: str  # what a citation shows: the canonical URL, else the document path
    url: str | None = None
    owner: str | None = None
    review_by: date | None = None
    modified: date | None = None  # when the document last changed, from its header
    audience: str = "everyone"
    doc_type: str | None = None
    tags: list[str] = Field(default_factory=list)

    def is_stale(self, today: date) -> bool:
        return self.review_by is not None and self.review_by < today


class FileEntry(BaseModel):
    path: str  # absolute, on the machine that read it last
    doc_id: str
    source_id: str | None = None  # the manifest key (None: written before keys were source ids)
    version: str | None = None  # the source's version of the item (None: compare the content)
    restricted: bool = False  # the source said not everyone in the company may see it
    described: str | None = None  # digest of the source's title, tags, owner, link (pipeline)
    sha256: str
    size: int
    title: str
    doc_type: str | None = None
    audience: str = "everyone"
    source: str = ""
    owner: str | None = None
    review_by: date | None = None
    modified: date | None = None
    description: str | None = None  # the header's summary (`description`, `summary`, …)
    tags: list[str] = Field(default_factory=list)
    owner_slack: str | None = None  # the owner's Slack user id (front matter)
    review_every: int | None = None  # days a verification lasts (front matter)
    reader: int = 0  # READER_VERSION that read it: a newer reader reads the file again
    checklist: Checklist | None = None
    # A training calendar's text, kept whole: its session tables are read from the index,
    # so a replica on another machine lists them too.
    text: str | None = None
    chunk_ids: list[str]


def source_id(path: str, doc_id: str) -> str:
    """The key of an entry written before keys were source ids: its folder's name and its
    path below it (`knowledge/standards/x.md`), as ingest.discovery labels a lone folder."""
    depth = doc_id.count("/") + 1
    parts = Path(path).parts
    return "/".join(parts[-(depth + 1) :]) if len(parts) > depth else doc_id


class Manifest(BaseModel):
    version: int = MANIFEST_VERSION
    generation: int = 0
    created_at: datetime | None = None
    embedding_model: str = ""
    files: dict[str, FileEntry] = Field(default_factory=dict)  # keyed by source_id

    def by_source(self) -> dict[str, FileEntry]:
        """The files keyed by source id (manifests before version 3 used absolute paths)."""
        return {f.source_id or source_id(f.path, f.doc_id): f for f in self.files.values()}

    @property
    def chunk_count(self) -> int:
        return sum(len(f.chunk_ids) for f in self.files.values())


def chunk_id(doc_id: str, audience: str, embed_text: str, occurrence: int) -> str:
    """Content-addressed: an unchanged chunk keeps its id, so its embedding is reused."""
    digest = hashlib.sha256()
    for part in (doc_id, audience, embed_text, str(occurrence)):
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]
