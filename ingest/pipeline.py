"""One ingest run: find files, skip the unchanged ones by content hash, embed only new chunks."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from ingest import SUPPORTED_SUFFIXES
from ingest.checklists import parse_checklist
from ingest.chunking import chunk_document
from ingest.errors import DocumentError
from ingest.index_store import (
    collect_garbage,
    current_generation,
    ingest_lock,
    open_collection,
    read_chunks,
    read_manifest,
    write_generation,
)
from ingest.readers import LoadedDocument, load_document
from ingest.records import ChunkRecord, FileEntry, Manifest, chunk_id

EMBED_WRITE_BATCH = 32
PROGRESS_NOTE_EVERY_S = 5.0


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


@dataclass
class IngestReport:
    results: list[FileResult] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_total: int = 0
    generation: str | None = None

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.outcome is Outcome.FAILED]

    def summary(self) -> str:
        parts = [f"{self.count(o)} {o.value}" for o in Outcome]
        return ", ".join(parts) + f" ({self.chunks_embedded} chunks embedded)"


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


@dataclass(frozen=True)
class _Found:
    path: Path
    doc_id: str


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith((".", "_")) for part in relative.parts)


def discover(roots: Iterable[Path]) -> tuple[list[_Found], list[FileResult]]:
    """Supported files under the roots; a root that does not exist is a failure, not a crash."""
    found: dict[Path, _Found] = {}
    problems: list[FileResult] = []
    for root in roots:
        root = Path(root).expanduser()
        if root.is_file():
            absolute = Path(os.path.abspath(root))
            found.setdefault(absolute, _Found(absolute, root.name))
        elif root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
                for filename in sorted(filenames):
                    path = Path(dirpath) / filename
                    relative = path.relative_to(root)
                    if _is_hidden(relative) or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                        continue
                    # Not resolved: a broken link is reported under the name the author sees.
                    absolute = Path(os.path.abspath(path))
                    found.setdefault(absolute, _Found(absolute, relative.as_posix()))
        else:
            problems.append(FileResult(str(root), Outcome.FAILED, "no such file or folder"))
    return list(found.values()), problems


def _in_scope(path: str, roots: list[Path]) -> bool:
    candidate = Path(path)
    return any(candidate == root or root in candidate.parents for root in roots)


def _hash(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def _records_for(found: _Found, document: LoadedDocument) -> list[ChunkRecord]:
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
                id=chunk_id(found.doc_id, audience, chunk.embed_text, occurrence),
                doc_id=found.doc_id,
                chunk_index=chunk.index,
                title=document.title,
                heading=chunk.heading,
                text=chunk.text,
                embed_text=chunk.embed_text,
                source=url or found.doc_id,
                url=url,
                owner=meta.owner,
                review_by=meta.review_by,
                audience=audience,
                doc_type=meta.type.value if meta.type else None,
                tags=meta.tags,
            )
        )
    return records


def _note(message: str) -> None:
    # A plain line on stderr marks each phase, for operators tailing logs and for tests.
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


def run_ingest(
    roots: list[Path],
    data_dir: Path,
    max_bytes: int,
    progress: Progress | None = None,
    embedder_factory: Callable[[], object] | None = None,
) -> IngestReport:
    progress = progress or _NoProgress()
    report = IngestReport()
    scope = [Path(os.path.abspath(Path(r).expanduser())) for r in roots]
    data_dir = Path(data_dir)
    with ingest_lock(data_dir):
        previous = read_manifest(data_dir)
        found, problems = discover(roots)
        report.results.extend(problems)
        manifest = Manifest(generation=previous.generation, files={})
        fresh: dict[str, list[ChunkRecord]] = {}
        seen_paths: set[str] = set()
        for item in found:
            key = str(item.path)
            seen_paths.add(key)
            old = previous.files.get(key)
            try:
                sha, size = _hash(item.path)
                if old is not None and old.sha256 == sha and old.doc_id == item.doc_id:
                    manifest.files[key] = old
                    report.results.append(FileResult(key, Outcome.UNCHANGED))
                    continue
                document = load_document(item.path, max_bytes)
                records = _records_for(item, document)
            except DocumentError as error:
                reason = str(error)
                if old is not None:
                    manifest.files[key] = old
                    reason += " (the previously ingested version stays in the index)"
                report.results.append(FileResult(key, Outcome.FAILED, reason))
                continue
            except OSError as error:
                reason = f"cannot read file: {error.strerror or error}"
                if old is not None:
                    manifest.files[key] = old
                report.results.append(FileResult(key, Outcome.FAILED, reason))
                continue
            fresh[key] = records
            manifest.files[key] = FileEntry(
                path=key,
                doc_id=item.doc_id,
                sha256=sha,
                size=size,
                title=document.title,
                doc_type=document.meta.type.value if document.meta.type else None,
                audience=document.meta.audience.value,
                source=str(document.meta.url) if document.meta.url else item.doc_id,
                owner=document.meta.owner,
                review_by=document.meta.review_by,
                checklist=parse_checklist(document.body, document.title),
                chunk_ids=[r.id for r in records],
            )
            outcome = Outcome.ADDED if old is None else Outcome.UPDATED
            report.results.append(FileResult(key, outcome))

        for key, old in previous.files.items():
            if key in seen_paths:
                continue
            if _in_scope(key, scope):
                report.results.append(FileResult(key, Outcome.REMOVED))
            else:
                manifest.files[key] = old  # ingested from another folder: not ours to drop

        changed = bool(fresh) or report.count(Outcome.REMOVED) > 0
        report.chunks_total = manifest.chunk_count
        if not changed and current_generation(data_dir) is not None:
            report.generation = current_generation(data_dir)
            return report

        kept: dict[str, ChunkRecord] = {}
        name = current_generation(data_dir)
        if name is not None:
            wanted = {i for k, f in manifest.files.items() if k not in fresh for i in f.chunk_ids}
            if wanted:
                kept = {c.id: c for c in read_chunks(data_dir, name) if c.id in wanted}
        new_records = [r for records in fresh.values() for r in records]

        collection = open_collection(data_dir)
        _embed_missing(collection, new_records, report, progress, embedder_factory)

        chunks: list[ChunkRecord] = []
        for key, entry in manifest.files.items():
            if key in fresh:
                chunks.extend(fresh[key])
            else:
                chunks.extend(kept[i] for i in entry.chunk_ids if i in kept)
        _note(f"writing index generation with {len(chunks)} chunks")
        report.generation = write_generation(data_dir, manifest, chunks)
        collect_garbage(data_dir, collection, {c.id for c in chunks})
        report.chunks_total = len(chunks)
    return report


def _embed_missing(
    collection,
    records: list[ChunkRecord],
    report: IngestReport,
    progress: Progress,
    embedder_factory: Callable[[], object] | None,
) -> None:
    unique = list({r.id: r for r in records}.values())
    existing: set[str] = set()
    for start in range(0, len(unique), 5000):
        batch = [r.id for r in unique[start : start + 5000]]
        existing.update(collection.get(ids=batch, include=[])["ids"])
    missing = [r for r in unique if r.id not in existing]
    report.chunks_reused = len(unique) - len(missing)
    if not missing:
        return
    if embedder_factory is None:
        from ingest.embedding import shared_embedder as embedder_factory
    embedder = embedder_factory()
    _note(f"embedding {len(missing)} chunks")
    progress.start(len(missing))
    last_note = 0.0
    for start in range(0, len(missing), EMBED_WRITE_BATCH):
        batch = missing[start : start + EMBED_WRITE_BATCH]
        vectors = embedder.embed([r.embed_text for r in batch])
        # Written batch by batch: a run killed mid-way keeps what it embedded for the next one.
        collection.upsert(
            ids=[r.id for r in batch],
            embeddings=vectors.tolist(),
            metadatas=[{"doc_id": r.doc_id, "audience": r.audience} for r in batch],
        )
        report.chunks_embedded += len(batch)
        progress.advance(len(batch))
        if time.monotonic() - last_note >= PROGRESS_NOTE_EVERY_S:
            last_note = time.monotonic()
            _note(f"embedded {report.chunks_embedded}/{len(missing)} chunks")
