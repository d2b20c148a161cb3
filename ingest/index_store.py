"""The on-disk index: immutable generations readers load whole, and ingest's vector cache.

Layout under ``<data_dir>/index``::

    chroma/                 ingest's embedding cache: vectors by chunk content hash
    generations/g000042/    manifest.json, chunks.jsonl, bm25/, vectors.npy (never modified)
    CURRENT                 name of the generation readers use, swapped atomically

An ingest embeds what is new into Chroma (batch by batch, so a killed run keeps its work),
writes a complete generation, then swaps CURRENT. Readers never open Chroma: a long-running
process holding a Chroma client does not see another process's writes (chromadb's local mode
loads its HNSW index once per process) and fails filtered queries with "Error finding id".
A reader loads the current generation's vectors into memory and searches them exactly, so an
ingest or a rebuild next to a running server changes nothing for it until it switches.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import overload

import numpy as np
from pydantic import ValidationError

from ingest.dense_ann import OVERSAMPLE, Graph, write_graph
from ingest.embedding import MODEL_NAME
from ingest.errors import IndexCorruptError, IndexMissingError, IngestBusyError
from ingest.lexical import lexical_terms, terms
from ingest.records import MANIFEST_VERSION, ChunkRecord, Manifest

COLLECTION = "coe_chunks"
STAFF_AUDIENCE = "coe-staff"
VECTORS_FILE = "vectors.npy"
DIMENSION = 384


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


def chroma_client(data_dir: Path, url: str | None = None):
    """The vector cache: a Chroma server when `url` is set (shared by every machine), else
    the embedded store in the data directory."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url if "://" in url else f"http://{url}")
        if not parts.hostname:
            raise ValueError(f"COE_CHROMA_URL {url!r} names no host")
        secure = parts.scheme == "https"
        return chromadb.HttpClient(
            host=parts.hostname,
            port=parts.port or (443 if secure else 8000),
            ssl=secure,
            settings=settings,
        )
    return chromadb.PersistentClient(path=str(index_dir(data_dir) / "chroma"), settings=settings)


def open_collection(data_dir: Path, url: str | None = None):
    client = chroma_client(data_dir, url)
    return client.get_or_create_collection(
        COLLECTION,
        # A wide search beam makes the approximate search all but exact at our sizes, so the
        # same question gets the same passages after every rebuild.
        metadata={"hnsw:space": "cosine", "hnsw:search_ef": 200, "hnsw:construction_ef": 200},
        embedding_function=None,
    )


def chroma_dir(data_dir: Path) -> Path:
    return index_dir(data_dir) / "chroma"


def set_aside_vector_cache(data_dir: Path) -> Path | None:
    """For a rebuild: moves the embedding cache out of the way (readers never use it), so a
    damaged store cannot break the new build. Returns where it went, to delete after publish."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    source = chroma_dir(data_dir)
    if not source.exists():
        return None
    target = source.with_name(f"chroma.discarded-{os.getpid()}")
    shutil.rmtree(target, ignore_errors=True)
    os.replace(source, target)
    return target


def highest_generation(data_dir: Path) -> int:
    """The highest generation number on disk, even when the manifest cannot be read."""
    numbers = [
        int(p.name[1:]) for p in _generations_dir(data_dir).glob("g*") if p.name[1:].isdigit()
    ]
    return max(numbers, default=0)


def has_vectors(data_dir: Path, name: str) -> bool:
    return (_generations_dir(data_dir) / name / VECTORS_FILE).exists()


def read_vectors(data_dir: Path, name: str, mapped: bool = False) -> np.ndarray:
    """`mapped`: from the file's pages as they are touched, rather than read whole."""
    path = _generations_dir(data_dir) / name / VECTORS_FILE
    try:
        vectors = np.load(path, allow_pickle=False, mmap_mode="r" if mapped else None)
    except FileNotFoundError:
        raise IndexCorruptError(
            f"the index generation {name} has no vectors (written by an older version): "
            "run `coe ingest` once to bring it up to date"
        ) from None
    except (OSError, ValueError) as error:
        raise IndexCorruptError(
            f"the vectors of generation {name} cannot be read: {error}"
        ) from None
    return np.ascontiguousarray(vectors, dtype=np.float32)


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


def read_manifest(data_dir: Path, name: str | None = None) -> Manifest:
    """The manifest of generation `name` (default: the current one); an empty one when
    nothing was ever ingested."""
    name = name or current_generation(data_dir)
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


# Passages kept parsed between questions; the rest stay on disk until asked for.
STORED_CHUNKS_CACHE = 4_096


class StoredChunks(Sequence[ChunkRecord]):
    """A generation's passages, read from its chunks file when asked for.

    Every line is checked when the file is opened (a damaged index fails then, not during a
    question); afterwards only offsets are held, and a passage is parsed again from the file
    when it is needed. At 100,000 passages the parsed records took ~400 MB of a server's
    memory; a question reads a few dozen. The file stays open, so a generation removed by a
    later ingest can still be read by whoever opened it.
    """

    def __init__(self, path: Path) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - held for the life of the index
        spans: list[tuple[int, int]] = []
        ids: list[str] = []
        audiences: list[str] = []
        offset = 0
        try:
            for number, line in enumerate(self._file, start=1):
                if line.strip():
                    try:
                        record = ChunkRecord.model_validate_json(line)
                    except (ValidationError, ValueError) as error:
                        raise IndexCorruptError(
                            f"line {number} of {path} cannot be read: {error}"
                        ) from None
                    spans.append((offset, len(line)))
                    ids.append(record.id)
                    audiences.append(record.audience)
                offset += len(line)
        except BaseException:
            self._file.close()
            raise
        self._spans = spans
        self.ids = ids
        self.audiences = audiences
        self._cache: OrderedDict[int, ChunkRecord] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._spans)

    @overload
    def __getitem__(self, index: int) -> ChunkRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[ChunkRecord]: ...
    def __getitem__(self, index: int | slice) -> ChunkRecord | list[ChunkRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        with self._lock:
            found = self._cache.get(index)
            if found is not None:
                self._cache.move_to_end(index)
                return found
        start, length = self._spans[index]
        found = ChunkRecord.model_validate_json(os.pread(self._file.fileno(), length, start))
        with self._lock:
            self._cache[index] = found
            while len(self._cache) > STORED_CHUNKS_CACHE:
                self._cache.popitem(last=False)
        return found

    def __iter__(self) -> Iterator[ChunkRecord]:
        for index in range(len(self)):
            yield self[index]

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self._file.close()


def open_chunks(data_dir: Path, name: str) -> StoredChunks:
    path = _generations_dir(data_dir) / name / "chunks.jsonl"
    try:
        return StoredChunks(path)
    except FileNotFoundError:
        raise IndexCorruptError(f"the index generation {name} has no chunks file") from None


def generation_dir(data_dir: Path, name: str) -> Path:
    return _generations_dir(Path(data_dir)) / name


def write_generation_files(
    target: Path,
    manifest: Manifest,
    chunks: list[ChunkRecord],
    vectors: np.ndarray,
    previous: Path | None = None,
) -> None:
    """Writes one generation's files into `target` (which must not be current); a large
    index also gets its search graph, updated from generation folder `previous` if given."""
    import bm25s

    if vectors.shape != (len(chunks), DIMENSION):
        raise ValueError(f"vectors {vectors.shape} do not match {len(chunks)} chunks")
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
    with open(target / VECTORS_FILE, "wb") as handle:
        np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    write_graph(target, [c.id for c in chunks], vectors, previous)
    _fsync_write(target / "manifest.json", manifest.model_dump_json(indent=1))


def make_current(data_dir: Path, name: str) -> None:
    """Points readers at generation `name`, in one atomic rename."""
    pending = _current_file(data_dir).with_suffix(".tmp")
    _fsync_write(pending, name)
    os.replace(pending, _current_file(data_dir))


def write_generation(
    data_dir: Path,
    manifest: Manifest,
    chunks: list[ChunkRecord],
    vectors: np.ndarray,
    before_publish: Callable[[Path, str], object] | None = None,
    publish: Callable[[Path, str], object] | None = None,
) -> str:
    """Writes a complete generation, then makes it current in one atomic rename.

    `vectors` row i is the normalised embedding of `chunks[i]`. `before_publish(data_dir,
    name)` may add files to the finished generation (its calibration) before any reader
    can see it; if it fails, the generation is still published without them. `publish(data_dir,
    name)` hands the finished generation to readers elsewhere (the shared index); if it
    fails, nothing is published here either.
    """
    manifest.generation += 1
    manifest.created_at = datetime.now(UTC)
    manifest.embedding_model = MODEL_NAME
    name = generation_name(manifest.generation)
    current = current_generation(data_dir)
    previous = _generations_dir(data_dir) / current if current else None
    write_generation_files(_generations_dir(data_dir) / name, manifest, chunks, vectors, previous)
    if before_publish is not None:
        try:
            before_publish(data_dir, name)
        except Exception as error:  # an extra must never cost the team its new documents
            logging.getLogger(__name__).warning("generation %s published without: %s", name, error)
    if publish is not None:
        publish(data_dir, name)
    make_current(data_dir, name)
    return name


def collect_garbage(data_dir: Path, collection, keep_ids: set[str]) -> int:
    """Drops vectors no generation uses any more and the generations before the current one."""
    stored = collection.get(include=[])["ids"]
    orphans = [i for i in stored if i not in keep_ids]
    for start in range(0, len(orphans), 5000):
        collection.delete(ids=orphans[start : start + 5000])
    drop_old_generations(data_dir)
    return len(orphans)


def drop_old_generations(data_dir: Path, keep: set[str] | None = None) -> None:
    """Deletes local generations other than the current one (and `keep`)."""
    wanted = {current_generation(data_dir), *(keep or set())}
    for old in _generations_dir(data_dir).glob("g*"):
        if old.name not in wanted:
            shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class ScoredId:
    position: int  # index into KnowledgeIndex.chunks
    score: float


@cache
def _quiet_blas() -> None:
    """One BLAS thread: a matrix-vector product is memory-bound anyway, and OpenBLAS's idle
    threads spin after each call, stealing the 2 cores torch needs to embed the next query
    (measured: query embedding p95 108 ms with them, 18 ms without)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


class KnowledgeIndex:
    """A read-only view of the current generation: the only way `bot` touches the index.

    Passages and vectors are read into memory when it opens (1.5 kB of vector a chunk); the
    keyword index is mapped. A later ingest, a rebuild or the collection of old generations
    cannot disturb either: files of a generation are never rewritten in place, and a removed
    file stays readable through a mapping made before.
    """

    def __init__(self, data_dir: Path, generation: str | None = None) -> None:
        """`generation` opens one that is not current yet (an ingest checking its work)."""
        import bm25s

        _quiet_blas()
        self.data_dir = Path(data_dir)
        name = generation or current_generation(self.data_dir)
        if name is None:
            raise IndexMissingError(f"no index in {self.data_dir}; run `coe ingest` first")
        self.generation = name
        self.manifest = read_manifest(self.data_dir, name)
        self._document_counts: tuple[int, int] | None = None
        self.chunks = open_chunks(self.data_dir, name)
        self.position = {chunk_id: i for i, chunk_id in enumerate(self.chunks.ids)}
        staff = np.array([a == STAFF_AUDIENCE for a in self.chunks.audiences], dtype=bool)
        self._everyone_mask = (~staff).astype(np.float32)
        self._staff_only = staff
        self._any_staff_only = bool(staff.any())
        folder = _generations_dir(self.data_dir) / name
        self._graph = Graph.open(folder, self.chunks.ids)
        # With a graph, a question reads ~100 vectors, not all: map them instead of reading.
        self._vectors = (
            read_vectors(self.data_dir, name, mapped=self._graph is not None)
            if self.chunks
            else np.zeros((0, DIMENSION), dtype=np.float32)
        )
        if len(self._vectors) != len(self.chunks):
            raise IndexCorruptError(
                f"generation {name} has {len(self._vectors)} vectors for {len(self.chunks)} chunks"
            )
        self._bm25 = None
        if self.chunks:
            try:
                # Mapped, not read: a question reads the columns of its few terms only.
                self._bm25 = bm25s.BM25.load(
                    str(_generations_dir(self.data_dir) / name / "bm25"), mmap=True
                )
            except (OSError, ValueError) as error:
                raise IndexCorruptError(
                    f"the keyword index of {name} cannot be read: {error}"
                ) from None

    @property
    def generation_dir(self) -> Path:
        return _generations_dir(self.data_dir) / self.generation

    def is_stale(self) -> bool:
        """True when an ingest has made another generation current since this view opened."""
        return current_generation(self.data_dir) != self.generation

    def document_count(self, staff: bool) -> int:
        # Counted once: every answer asks, and a large index has 10,000 documents to count.
        if self._document_counts is None:
            files = self.manifest.files.values()
            everyone = sum(1 for f in files if f.audience != STAFF_AUDIENCE)
            self._document_counts = (everyone, len(files))
        return self._document_counts[1 if staff else 0]

    def dense(self, query_vector: np.ndarray, k: int, staff: bool) -> list[ScoredId]:
        """Cosine similarity of the k nearest chunks the caller may see, searched exactly."""
        if not self.chunks:
            return []
        query = np.asarray(query_vector, dtype=np.float32)
        if self._graph is not None:
            found = self._dense_from_graph(query, k, staff)
            if found is not None:
                return found
        similarity = self._vectors @ query
        if not staff and self._any_staff_only:
            similarity = np.where(self._staff_only, -np.inf, similarity)
        visible = int(len(self.chunks) if staff else (~self._staff_only).sum())
        k = min(k, visible)
        if k <= 0:
            return []
        top = np.argpartition(-similarity, k - 1)[:k]
        # Ties broken by position: the same question gets the same passages every time.
        order = sorted(top.tolist(), key=lambda i: (-float(similarity[i]), i))
        return [ScoredId(i, float(similarity[i])) for i in order]

    def _dense_from_graph(self, query: np.ndarray, k: int, staff: bool) -> list[ScoredId] | None:
        """The graph's candidates, scored exactly; None when too few are visible to the
        caller (most of the index staff-only, say), so the exact search runs instead."""
        assert self._graph is not None
        rows = self._graph.candidates(query, k * OVERSAMPLE)
        if not staff and self._any_staff_only:
            rows = [r for r in rows if not self._staff_only[r]]
        if len(rows) < k:
            return None
        similarity = np.asarray(self._vectors[np.asarray(rows)], dtype=np.float32) @ query
        order = sorted(range(len(rows)), key=lambda j: (-float(similarity[j]), rows[j]))[:k]
        return [ScoredId(rows[j], float(similarity[j])) for j in order]

    def term_document_counts(self) -> dict[str, int]:
        """How many passages hold each keyword term, read off the keyword index (a term's
        column holds one entry per passage that has it) rather than re-tokenising them all."""
        if self._bm25 is None:
            return {}
        starts = np.asarray(self._bm25.scores["indptr"])
        counts = np.diff(starts)
        # bm25s adds a placeholder term (for passages with no terms) past the last column.
        return {
            term: int(counts[column])
            for term, column in self._bm25.vocab_dict.items()
            if column < len(counts) and counts[column] > 0
        }

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
            n_threads=0,  # 1 starts a thread pool per question (~2 ms)
        )
        return [
            ScoredId(int(d), float(s))
            for d, s in zip(documents[0], scores[0], strict=True)
            if s > 0
        ]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return {i: self._vectors[self.position[i]] for i in ids if i in self.position}
