"""The on-disk index: embeddings in Chroma, everything else in immutable generations.

Layout under ``<data_dir>/index``::

    chroma/                 Chroma collection, ids are content hashes of chunks
    generations/g000042/    manifest.json, chunks.jsonl, bm25/  (never modified once written)
    CURRENT                 name of the generation readers use, swapped atomically

An ingest adds vectors to Chroma first, writes a new generation, then swaps CURRENT.
Readers only trust chunk ids listed in the current generation, so an ingest killed at any
point leaves the previous index whole; vectors it added are reused or collected next time.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ingest.embedding import MODEL_NAME
from ingest.errors import IndexCorruptError, IndexMissingError, IngestBusyError
from ingest.lexical import lexical_terms, terms
from ingest.records import MANIFEST_VERSION, ChunkRecord, Manifest

COLLECTION = "coe_chunks"
STAFF_AUDIENCE = "coe-staff"


def index_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "index"


def _current_file(data_dir: Path) -> Path:
    return index_dir(data_dir) / "CURRENT"


def _generations_dir(data_dir: Path) -> Path:
    return index_dir(data_dir) / "generations"


def generation_name(number: int) -> str:
    return f"g{number:06d}"


@contextmanager
def ingest_lock(data_dir: Path) -> Iterator[None]:
    path = index_dir(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestBusyError(
                f"another ingest is running on {data_dir}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_collection(data_dir: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(index_dir(data_dir) / "chroma"),
        settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
    )
    return client.get_or_create_collection(
        COLLECTION,
        # A wide search beam makes the approximate search all but exact at our sizes, so the
        # same question gets the same passages after every rebuild.
        metadata={"hnsw:space": "cosine", "hnsw:search_ef": 200, "hnsw:construction_ef": 200},
        embedding_function=None,
    )


def remove_index(data_dir: Path) -> None:
    """Deletes the whole index; Chroma's in-process client cache must forget it too."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    shutil.rmtree(index_dir(data_dir), ignore_errors=True)


def current_generation(data_dir: Path) -> str | None:
    try:
        name = _current_file(data_dir).read_text().strip()
    except FileNotFoundError:
        return None
    return name or None


def _fsync_write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def read_manifest(data_dir: Path) -> Manifest:
    """The current manifest; an empty one when nothing was ever ingested."""
    name = current_generation(data_dir)
    if name is None:
        return Manifest()
    path = _generations_dir(data_dir) / name / "manifest.json"
    try:
        manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexCorruptError(f"the index names generation {name}, which is missing") from None
    except (ValidationError, ValueError) as error:
        raise IndexCorruptError(f"the index manifest {path} cannot be read: {error}") from None
    if manifest.version != MANIFEST_VERSION:
        raise IndexCorruptError(f"the index was written by another version ({manifest.version})")
    return manifest


def read_chunks(data_dir: Path, name: str) -> list[ChunkRecord]:
    path = _generations_dir(data_dir) / name / "chunks.jsonl"
    try:
        with open(path, encoding="utf-8") as handle:
            return [ChunkRecord.model_validate_json(line) for line in handle if line.strip()]
    except FileNotFoundError:
        raise IndexCorruptError(f"the index generation {name} has no chunks file") from None
    except (ValidationError, ValueError) as error:
        raise IndexCorruptError(
            f"the chunks of generation {name} cannot be read: {error}"
        ) from None


def write_generation(data_dir: Path, manifest: Manifest, chunks: list[ChunkRecord]) -> str:
    """Writes a complete generation, then makes it current in one atomic rename."""
    import bm25s

    manifest.generation += 1
    manifest.created_at = datetime.now(UTC)
    manifest.embedding_model = MODEL_NAME
    name = generation_name(manifest.generation)
    target = _generations_dir(data_dir) / name
    if target.exists():
        shutil.rmtree(target)  # left behind by a killed run
    target.mkdir(parents=True)
    with open(target / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(chunk.model_dump_json() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if chunks:
        retriever = bm25s.BM25()
        retriever.index(lexical_terms([c.embed_text for c in chunks]), show_progress=False)
        retriever.save(str(target / "bm25"))
    _fsync_write(target / "manifest.json", manifest.model_dump_json(indent=1))
    pending = _current_file(data_dir).with_suffix(".tmp")
    _fsync_write(pending, name)
    os.replace(pending, _current_file(data_dir))
    return name


def collect_garbage(data_dir: Path, collection, keep_ids: set[str]) -> int:
    """Drops vectors no generation uses any more and the generations before the current one."""
    stored = collection.get(include=[])["ids"]
    orphans = [i for i in stored if i not in keep_ids]
    for start in range(0, len(orphans), 5000):
        collection.delete(ids=orphans[start : start + 5000])
    current = current_generation(data_dir)
    for old in _generations_dir(data_dir).glob("g*"):
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
    return len(orphans)


@dataclass(frozen=True)
class ScoredId:
    position: int  # index into KnowledgeIndex.chunks
    score: float


class KnowledgeIndex:
    """A read-only view of the current generation: the only way `bot` touches the index."""

    def __init__(self, data_dir: Path) -> None:
        import bm25s

        self.data_dir = Path(data_dir)
        name = current_generation(self.data_dir)
        if name is None:
            raise IndexMissingError(f"no index in {self.data_dir}; run `coe ingest` first")
        self.generation = name
        self.manifest = read_manifest(self.data_dir)
        self.chunks = read_chunks(self.data_dir, name)
        self.position = {c.id: i for i, c in enumerate(self.chunks)}
        staff = np.array([c.audience == STAFF_AUDIENCE for c in self.chunks], dtype=bool)
        self._everyone_mask = (~staff).astype(np.float32)
        self._any_staff_only = bool(staff.any())
        self._bm25 = None
        if self.chunks:
            try:
                self._bm25 = bm25s.BM25.load(str(_generations_dir(self.data_dir) / name / "bm25"))
            except (OSError, ValueError) as error:
                raise IndexCorruptError(
                    f"the keyword index of {name} cannot be read: {error}"
                ) from None
        try:
            self._collection = open_collection(self.data_dir)
        except Exception as error:  # chromadb raises many types for a damaged store
            raise IndexCorruptError(f"the vector store cannot be opened: {error}") from None

    def is_stale(self) -> bool:
        """True when an ingest has made another generation current since this view opened."""
        return current_generation(self.data_dir) != self.generation

    def document_count(self, staff: bool) -> int:
        return sum(1 for f in self.manifest.files.values() if staff or f.audience != STAFF_AUDIENCE)

    def dense(self, query_vector: np.ndarray, k: int, staff: bool) -> list[ScoredId]:
        """Cosine similarity (1 - distance) of the k nearest chunks the caller may see."""
        if not self.chunks:
            return []
        where = None if staff or not self._any_staff_only else {"audience": "everyone"}
        # Vectors of a killed ingest may sit in Chroma unlisted; ask for a few spare results.
        result = self._collection.query(
            query_embeddings=[query_vector.tolist()],
            n_results=min(k + 8, len(self.chunks) + 8),
            where=where,
            include=["distances"],
        )
        found: list[ScoredId] = []
        for chunk_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
            position = self.position.get(chunk_id)
            if position is not None:
                found.append(ScoredId(position, 1.0 - float(distance)))
        return found[:k]

    def lexical(self, query: str, k: int, staff: bool) -> list[ScoredId]:
        if self._bm25 is None:
            return []
        query_terms = terms(query)
        if not query_terms:
            return []
        mask = None if staff or not self._any_staff_only else self._everyone_mask
        documents, scores = self._bm25.retrieve(
            [query_terms],
            k=min(k, len(self.chunks)),
            show_progress=False,
            weight_mask=mask,
            n_threads=1,
        )
        return [
            ScoredId(int(d), float(s))
            for d, s in zip(documents[0], scores[0], strict=True)
            if s > 0
        ]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        got = self._collection.get(ids=ids, include=["embeddings"])
        return {
            i: np.asarray(e, dtype=np.float32)
            for i, e in zip(got["ids"], got["embeddings"], strict=True)
        }
