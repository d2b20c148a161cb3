"""One ingest run: find files, skip the unchanged ones by content hash, embed only new chunks."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.checklists import parse_checklist
from ingest.chunking import chunk_document
from ingest.embed_ahead import EmbedAhead, note
from ingest.errors import (
    DocumentError,
    EmptyDocumentError,
    IndexCorruptError,
    RebuildRefusedError,
    RefusedError,
)
from ingest.frontmatter import Audience
from ingest.index_store import (
    DIMENSION,
    collect_garbage,
    current_generation,
    has_vectors,
    highest_generation,
    ingest_lock,
    open_collection,
    read_chunks,
    read_manifest,
    read_vectors,
    set_aside_vector_cache,
    write_generation,
)
from ingest.limits import ParseLimits
from ingest.quality import Quality
from ingest.readers import READER_VERSION, LoadedDocument, parse_document
from ingest.records import ChunkRecord, FileEntry, Manifest, chunk_id
from ingest.sandbox import ParserSandbox
from ingest.sources.base import Item, Source, SourceError
from ingest.sources.folder import FolderSource


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    UNCHANGED = "unchanged"
    FAILED = "failed"


@dataclass(frozen=True)
class FileResult:
    path: str
    outcome: Outcome
    reason: str = ""
    notes: tuple[str, ...] = ()  # said about a file that was read; never a failure
    quality: Quality | None = None  # of the text taken from a file that was read
    source: str = ""  # the name of the source it came from

    @property
    def warning(self) -> str | None:
        """Why the file's text looks garbled, if it does; it is indexed all the same."""
        return self.quality.warning() if self.quality and self.quality.garbled else None


@dataclass(frozen=True)
class SourceResult:
    """How one source fared: listed (with how many items) or failed as a whole."""

    name: str
    kind: str
    listed: int = 0
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    sources: list[SourceResult] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    generation: str | None = None
    published: bool = False  # this run made a new generation current

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]

    @property
    def failed_sources(self) -> list[SourceResult]:
        return [s for s in self.sources if s.failed]

    @property
    def warned(self) -> list[FileResult]:
        return [r for r in self.results if r.warning]

    def summary(self) -> str:
        parts = [f"{self.count(o)} {o.value}" for o in Outcome]
        warned = len(self.warned)
        parts.append(f"{warned} warning{'' if warned == 1 else 's'}")
        if self.failed_sources:
            parts.append(f"{len(self.failed_sources)} source(s) failed")
        return ", ".join(parts) + f" ({self.chunks_embedded} chunks embedded)"


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


def _records_for(doc_id: str, document: LoadedDocument) -> list[ChunkRecord]:
    meta = document.meta
    audience = meta.audience.value
    url = str(meta.url) if meta.url else None
    records: list[ChunkRecord] = []
    seen: dict[str, int] = {}
    for chunk in chunk_document(document.title, document.body):
        occurrence = seen.get(chunk.embed_text, 0)
        seen[chunk.embed_text] = occurrence + 1
        records.append(
            ChunkRecord(
                id=chunk_id(doc_id, audience, chunk.embed_text, occurrence),
                doc_id=doc_id,
                chunk_index=chunk.index,
                title=document.title,
                heading=chunk.heading,
                text=chunk.text,
                embed_text=chunk.embed_text,
                source=url or doc_id,
                url=url,
                owner=meta.owner,
                review_by=meta.review_by,
                modified=meta.modified,
                audience=audience,
                doc_type=meta.type.value if meta.type else None,
                tags=meta.tags,
            )
        )
    return records


_note = note


@dataclass
class _Scan:
    """What the per-file loop leaves behind: the next manifest and the records to write."""

    manifest: Manifest
    fresh: dict[str, list[ChunkRecord]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)


def _entry_for(
    source: Source, item: Item, sha: str, size: int, document: LoadedDocument, records
) -> FileEntry:
    meta = document.meta
    doc_id = source.doc_id(item)
    return FileEntry(
        path=source.path(item),
        doc_id=doc_id,
        source_id=source.key(item),
        version=item.version,
        restricted=item.meta.restricted,
        described=_described(source, item),
        sha256=sha,
        size=size,
        title=document.title,
        doc_type=meta.type.value if meta.type else None,
        audience=meta.audience.value,
        source=str(meta.url) if meta.url else doc_id,
        owner=meta.owner,
        review_by=meta.review_by,
        modified=meta.modified,
        description=meta.description,
        tags=meta.tags,
        owner_slack=meta.owner_slack,
        review_every=meta.review_every,
        reader=READER_VERSION,
        checklist=parse_checklist(document.body, document.title),
        text=document.body if meta.type is not None and meta.type.value == "training" else None,
        chunk_ids=[r.id for r in records],
    )


def _with_source_meta(document: LoadedDocument, item: Item) -> LoadedDocument:
    """The document's own header, completed by what its source says. The service's
    restriction always wins: a page restricted there is staff-only whatever its text says."""
    meta, said = document.meta, item.meta
    update: dict[str, object] = {
        "owner": meta.owner or said.owner,
        "tags": list(dict.fromkeys([*meta.tags, *said.tags])),
        "modified": said.modified or meta.modified,
    }
    if meta.url is None and item.link:
        update["url"] = item.link
    if said.restricted:
        update["audience"] = Audience.COE_STAFF
    title = (meta.title or said.title or document.title) if said.title else document.title
    return replace(document, meta=meta.model_copy(update=update), title=title)


def _described(source: Source, item: Item) -> str | None:
    """A digest of what the service says about an item besides its content: a page renamed,
    relabelled or moved may keep its bytes (and, for labels, its version), yet its title,
    tags and link are indexed with it. None for folders: their files describe themselves."""
    if source.kind == "folder":
        return None
    meta = item.meta
    said = [item.link, meta.title, meta.owner, list(meta.tags), str(meta.modified)]
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]


def _same(old: FileEntry | None, source: Source, item: Item) -> bool:
    """Whether the indexed entry still stands for the item, whatever its content."""
    return (
        old is not None
        and old.doc_id == source.doc_id(item)
        and old.reader == READER_VERSION
        and old.restricted == item.meta.restricted
        and old.described == _described(source, item)
    )


def _record_empty(
    source: Source, item: Item, sha: str, size: int, old: FileEntry | None, scan: _Scan
) -> FileResult:
    key = source.key(item)
    scan.manifest.files[key] = FileEntry(
        path=source.path(item),
        doc_id=source.doc_id(item),
        source_id=key,
        version=item.version,
        restricted=item.meta.restricted,
        described=_described(source, item),
        sha256=sha,
        size=size,
        title=item.meta.title or item.label,
        audience=(Audience.COE_STAFF if item.meta.restricted else Audience.EVERYONE).value,
        source=item.link or source.doc_id(item),
        reader=READER_VERSION,
        chunk_ids=[],
    )
    outcome = Outcome.ADDED if old is None else Outcome.UPDATED
    return FileResult(item.label, outcome, notes=("no text to index (kept as an empty page)",))


def _ingest_item(
    source: Source,
    item: Item,
    old: FileEntry | None,
    scan: _Scan,
    max_bytes: int,
    parser: ParserSandbox,
) -> FileResult:
    key = source.key(item)
    shown = item.label
    if item.version is not None and _same(old, source, item):
        assert old is not None
        if old.version == item.version:  # not even fetched
            scan.manifest.files[key] = old.model_copy(update={"source_id": key})
            return FileResult(shown, Outcome.UNCHANGED)
    # Read once, bounded; the hash and the parse both use these bytes.
    data = source.load(item, max_bytes)
    sha = hashlib.sha256(data).hexdigest()
    if _same(old, source, item) and old is not None and old.sha256 == sha:
        scan.manifest.files[key] = old.model_copy(
            update={"source_id": key, "version": item.version}
        )
        return FileResult(shown, Outcome.UNCHANGED)
    try:
        parsed = parse_document(Path(shown), item.suffix, data, parser)
    except EmptyDocumentError:
        if source.kind == "folder":
            raise
        # A wiki's section page often holds only child-page or table-of-contents macros:
        # recorded with no passages, so it is neither an error nor fetched again each sync.
        return _record_empty(source, item, sha, len(data), old, scan)
    document = _with_source_meta(parsed, item)
    records = _records_for(source.doc_id(item), document)
    scan.fresh[key] = records
    scan.manifest.files[key] = _entry_for(source, item, sha, len(data), document, records)
    outcome = Outcome.ADDED if old is None else Outcome.UPDATED
    return FileResult(shown, outcome, notes=document.notes, quality=document.quality)


def _failure_reason(error: Exception) -> tuple[str, bool]:
    """The reason shown for a file, and whether its previously ingested version may stay."""
    if isinstance(error, RefusedError):
        return str(error), False
    if isinstance(error, DocumentError):
        return str(error), True
    if isinstance(error, OSError):
        return f"cannot read file: {error.strerror or error}", True
    return f"unexpected error while reading ({type(error).__name__}: {error})", True


def _scan(
    sources: list[Source],
    previous: Manifest,
    report: IngestReport,
    max_bytes: int,
    limits: ParseLimits,
    ahead: EmbedAhead,
    on_item: Callable[[str, str], object] | None = None,
) -> _Scan:
    scan = _Scan(Manifest(generation=previous.generation, files={}))
    with ParserSandbox(limits, on_start=lambda: _note("starting the document parser")) as parser:
        for source in sources:
            if source.kind != "folder":
                _note(f"reading source {source.name} ({source.kind})")
            _scan_source(source, previous, scan, report, max_bytes, parser, ahead, on_item)
    return scan


def _listing(source: Source) -> Iterator[Item]:
    """The source's items; whatever goes wrong while listing fails that source, not the run
    (a proxy's login page instead of JSON, a library's own exception type, a git timeout)."""
    items = iter(source.items())
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except SourceError:
            raise
        except Exception as error:
            raise SourceError(
                f"unexpected error while listing ({type(error).__name__}: {error})"
            ) from error
        yield item


def _scan_source(
    source: Source,
    previous: Manifest,
    scan: _Scan,
    report: IngestReport,
    max_bytes: int,
    parser: ParserSandbox,
    ahead: EmbedAhead,
    on_item: Callable[[str, str], object] | None = None,
) -> None:
    listed = 0
    try:
        for item in _listing(source):
            listed += 1
            if on_item is not None:
                on_item(source.name, item.label)
            key = source.key(item)
            if key in scan.seen:
                continue  # listed twice (a folder named twice): read once
            scan.seen.add(key)
            old = previous.files.get(key)
            try:
                result = _ingest_item(source, item, old, scan, max_bytes, parser)
            except SourceError:
                raise
            except Exception as error:  # one bad item is reported; it never ends the run
                reason, keep_old = _failure_reason(error)
                if old is not None and keep_old:
                    scan.manifest.files[key] = old
                    reason += " (the previously ingested version stays in the index)"
                elif old is not None:
                    reason += " (its previously ingested version was removed from the index)"
                report.results.append(
                    FileResult(item.label, Outcome.FAILED, reason, source=source.name)
                )
                continue
            report.results.append(replace(result, source=source.name))
            ahead.add(scan.fresh.get(key, []))
    except SourceError as error:
        # The source's last good content stays searchable: every entry it owned is kept, and
        # counted as seen so that the run does not remove it.
        for key, old in previous.files.items():
            if key not in scan.manifest.files and source.owns(key, old):
                scan.manifest.files[key] = old
                scan.seen.add(key)
        report.sources.append(SourceResult(source.name, source.kind, listed, str(error)))
        return
    report.sources.append(SourceResult(source.name, source.kind, listed))


def run_ingest(
    roots: list[Path],
    data_dir: Path,
    max_bytes: int,
    progress: Progress | None = None,
    embedder_factory: Callable[[], TextEmbedder] | None = None,
    *,
    follow_symlinks: str = "off",
    limits: ParseLimits | None = None,
    rebuild: bool = False,
    before_publish: Callable[[Path, str], object] | None = None,
    chroma_url: str | None = None,
    publish: Callable[[Path, str], object] | None = None,
    generation_floor: int = 0,
    sources: list[Source] | None = None,
    on_item: Callable[[str, str], object] | None = None,
    complete: bool = False,
) -> IngestReport:
    """Ingests the roots and `sources`; `follow_symlinks` is "off" or "inside" (see
    ingest.discovery). An entry that none of this run's sources owns stays as it is.
    `on_item(source name, item)` is told of each item as it is read (a progress display).
    `complete`: these are all the sources there are (the whole sources file), so an entry
    none of them owns is removed: it came from a source taken out of the file.

    `rebuild` reads and embeds everything anew, beside the live index: readers keep the
    current generation until the new one is published, so a running server never notices.
    With `chroma_url`, vectors are cached in that Chroma server, which other machines read;
    `publish(data_dir, name)` then hands each new generation to them (see write_generation);
    a rebuild numbers its generation above `generation_floor` (the newest one published).
    """
    progress = progress or _NoProgress()
    limits = limits or ParseLimits()
    report = IngestReport()
    everything: list[Source] = [FolderSource(roots, follow_symlinks)] if roots else []
    everything += sources or []
    data_dir = Path(data_dir)
    with ingest_lock(data_dir):
        discarded = None
        if rebuild:
            # The old manifest may be what is broken: only its number is carried on.
            previous = Manifest(generation=max(highest_generation(data_dir), generation_floor))
            if chroma_url is None:
                discarded = set_aside_vector_cache(data_dir)
        else:
            previous = read_manifest(data_dir)
            previous.files = previous.by_source()
        # A shared cache is not set aside on a rebuild (other machines read it): embed anew.
        ahead = EmbedAhead(
            data_dir, chroma_url, embedder_factory, trust_cache=not (rebuild and chroma_url)
        )
        try:
            scan = _scan(everything, previous, report, max_bytes, limits, ahead, on_item)
        except BaseException:
            ahead.abort()
            raise
        manifest, fresh = scan.manifest, scan.fresh
        if rebuild and report.failed_sources:
            # A rebuild starts from nothing: publishing it would drop what the failed sources
            # had indexed. The current index stays.
            ahead.abort()
            failed = "; ".join(f"{s.name}: {s.error}" for s in report.failed_sources)
            raise RebuildRefusedError(
                f"the rebuild was not published, because a source failed ({failed}); "
                "the current index stays in use"
            )

        for key, old in previous.files.items():
            if key in scan.seen:
                continue
            owner = next((source for source in everything if source.owns(key, old)), None)
            if owner is not None:
                report.results.append(FileResult(old.path, Outcome.REMOVED, source=owner.name))
            elif complete:
                # Its source was removed from (or renamed in) the sources file.
                report.results.append(FileResult(old.path, Outcome.REMOVED, source="(gone)"))
            else:
                manifest.files[key] = old  # ingested from another folder: not ours to drop

        new_records = [r for records in fresh.values() for r in records]
        embedded = ahead.finish(progress, len({r.id for r in new_records}))
        report.chunks_embedded = ahead.embedded
        report.chunks_reused = ahead.checked - ahead.embedded
        # A refused file drops its old entry without being "removed": compare the key sets.
        changed = bool(fresh) or manifest.files.keys() != previous.files.keys()
        report.chunks_total = manifest.chunk_count
        name = None if rebuild else current_generation(data_dir)
        if not changed and name is not None and has_vectors(data_dir, name):
            report.generation = name
            return report

        old_chunks = read_chunks(data_dir, name) if name is not None else []
        wanted = {i for k, f in manifest.files.items() if k not in fresh for i in f.chunk_ids}
        kept = {c.id: c for c in old_chunks if c.id in wanted}
        collection = ahead.collection or open_collection(data_dir, chroma_url)

        chunks: list[ChunkRecord] = []
        for key, entry in manifest.files.items():
            if key in fresh:
                chunks.extend(fresh[key])
            else:
                chunks.extend(kept[i] for i in entry.chunk_ids if i in kept)
        vectors = _vectors_for(data_dir, name, old_chunks, chunks, embedded, collection)
        _note(f"writing index generation with {len(chunks)} chunks")
        report.generation = write_generation(
            data_dir, manifest, chunks, vectors, before_publish, publish
        )
        report.published = True
        keep = {c.id for c in chunks}
        if chroma_url is not None:
            # Replicas still loading the previous generation read its vectors from the server.
            keep |= {c.id for c in old_chunks}
        collect_garbage(data_dir, collection, keep)
        if discarded is not None:
            shutil.rmtree(discarded, ignore_errors=True)
        report.chunks_total = len(chunks)
    return report


def _vectors_for(
    data_dir: Path,
    name: str | None,
    old_chunks: list[ChunkRecord],
    chunks: list[ChunkRecord],
    embedded: dict[str, np.ndarray],
    collection,
) -> np.ndarray:
    """The new generation's vector matrix: just embedded, else the previous generation's,
    else ingest's Chroma cache (an index from before generations carried their vectors)."""
    known: dict[str, np.ndarray] = dict(embedded)
    if name is not None and has_vectors(data_dir, name):
        previous = read_vectors(data_dir, name)
        for row, chunk in enumerate(old_chunks):
            if row < len(previous):
                known.setdefault(chunk.id, previous[row])
    missing = list({c.id for c in chunks if c.id not in known})
    for start in range(0, len(missing), 5000):
        got = collection.get(ids=missing[start : start + 5000], include=["embeddings"])
        for cached_id, vector in zip(got["ids"], got["embeddings"], strict=True):
            known[cached_id] = np.asarray(vector, dtype=np.float32)
    absent = [c.id for c in chunks if c.id not in known]
    if absent:
        raise IndexCorruptError(
            f"{len(absent)} chunk vectors are missing from the cache; run `coe ingest --rebuild`"
        )
    if not chunks:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return np.stack([known[c.id] for c in chunks]).astype(np.float32)
