"""The index shared by replicas: generations in the database, vectors in a Chroma server.

With COE_CHROMA_URL set, `coe ingest` (anywhere) publishes each generation into the database
(its manifest, its chunks in search order, its calibration and quote vectors) in one
transaction, after its vectors are in the Chroma server. Every replica follows the newest
published generation: it writes a local copy into its own data directory (vectors fetched
from Chroma, the keyword index built here) and then switches to it, exactly as it would after
a local ingest. So a replica with an empty disk starts by copying the current generation,
and answers keep coming from memory while a new one is fetched (or while Chroma is down).
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, select

from bot.db.models import IndexChunk, IndexFile, IndexGeneration
from bot.db.store import Store
from bot.work.claims import JobClaims
from bot.work.leases import process_owner
from ingest.errors import IndexCorruptError, IngestBusyError
from ingest.index_store import (
    VECTORS_FILE,
    current_generation,
    drop_old_generations,
    generation_dir,
    generation_name,
    has_vectors,
    ingest_lock,
    make_current,
    open_collection,
    read_chunks,
    read_manifest,
    read_vectors,
    write_generation_files,
)
from ingest.records import ChunkRecord, Manifest

log = logging.getLogger(__name__)

INGEST_CLAIM = "ingest"
INGEST_LEASE_S = 60.0
# Files of a generation that are not copied: rebuilt by each replica, or held elsewhere.
_NOT_COPIED = frozenset({"manifest.json", "chunks.jsonl", VECTORS_FILE, "bm25"})
FETCH_BATCH = 1000
KEEP_PUBLISHED = 3  # a replica still fetching an older one can finish


def _extra_files(folder: Path) -> dict[str, bytes]:
    """A generation's files that replicas copy as they are (calibration, quote vectors)."""
    return {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name not in _NOT_COPIED and not p.name.endswith(".tmp")
    }


@dataclass(frozen=True)
class Published:
    number: int
    name: str
    chunk_count: int
    published_by: str


MARKER = "published.json"  # in a local copy: which publication it is a copy of


def _mark(folder: Path, number: int, published_by: str) -> None:
    (folder / MARKER).write_text(json.dumps({"number": number, "published_by": published_by}))


def _marked(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER).read_text())
    except (OSError, ValueError):
        return None


class SharedIndex:
    def __init__(self, store: Store, data_dir: Path, chroma_url: str) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.chroma_url = chroma_url
        self.claims = JobClaims(store)

    # -- reading -----------------------------------------------------------------------------

    def newest(self) -> Published | None:
        with self.store.session(quick=True) as session:
            number = session.execute(select(func.max(IndexGeneration.number))).scalar()
            if number is None:
                return None
            count, by = session.execute(
                select(IndexGeneration.chunk_count, IndexGeneration.published_by).where(
                    IndexGeneration.number == number
                )
            ).one()
        return Published(number, generation_name(number), count, by)

    def sync(self) -> str | None:
        """Makes the newest published generation current here; returns its name (None when
        nothing was published yet). Safe to call often: it only copies what changed."""
        newest = self.newest()
        if newest is None:
            return None
        if current_generation(self.data_dir) == newest.name and self._complete(newest):
            return newest.name
        try:
            with ingest_lock(self.data_dir):
                previous = current_generation(self.data_dir)
                if not self._complete(newest):
                    self._copy(newest)
                make_current(self.data_dir, newest.name)
                drop_old_generations(self.data_dir, keep={previous} if previous else None)
        except IngestBusyError:
            return current_generation(self.data_dir)  # an ingest here is writing: next time
        log.info("switched to index generation %s", newest.name)
        return newest.name

    def _complete(self, published: Published) -> bool:
        """A whole local copy of exactly that publication: a generation of the same number
        built here before the index was shared is not it."""
        folder = generation_dir(self.data_dir, published.name)
        marker = _marked(folder)
        return (
            marker == {"number": published.number, "published_by": published.published_by}
            and (folder / "manifest.json").exists()
            and has_vectors(self.data_dir, published.name)
        )

    def _copy(self, published: Published) -> None:
        with self.store.session(quick=False) as session:
            row = session.get(IndexGeneration, published.number)
            if row is None:
                raise IndexCorruptError(f"generation {published.name} vanished while copying it")
            manifest = Manifest.model_validate_json(row.manifest)
            records = session.execute(
                select(IndexChunk.record)
                .where(IndexChunk.generation == published.number)
                .order_by(IndexChunk.position)
            ).scalars()
            chunks = [ChunkRecord.model_validate_json(r) for r in records]
            files = {
                f.name: f.data
                for f in session.execute(
                    select(IndexFile).where(IndexFile.generation == published.number)
                ).scalars()
            }
        if len(chunks) != published.chunk_count:
            raise IndexCorruptError(
                f"generation {published.name} lists {published.chunk_count} chunks, "
                f"the database holds {len(chunks)}"
            )
        vectors = self._fetch_vectors([c.id for c in chunks])
        target = generation_dir(self.data_dir, published.name)
        # Written beside the real name and renamed: a replica killed mid-copy leaves no
        # generation that looks complete.
        partial = target.with_name(f"{published.name}.partial")
        mine = current_generation(self.data_dir)
        previous = generation_dir(self.data_dir, mine) if mine else None
        write_generation_files(partial, manifest, chunks, vectors, previous)
        for name, data in files.items():
            (partial / name).write_bytes(data)
        _mark(partial, published.number, published.published_by)
        if target.exists():
            shutil.rmtree(target)
        partial.rename(target)

    def _fetch_vectors(self, ids: list[str]) -> np.ndarray:
        collection = open_collection(self.data_dir, self.chroma_url)
        found: dict[str, np.ndarray] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), FETCH_BATCH):
            got = collection.get(ids=wanted[start : start + FETCH_BATCH], include=["embeddings"])
            for chunk_id, vector in zip(got["ids"], got["embeddings"], strict=True):
                found[chunk_id] = np.asarray(vector, dtype=np.float32)
        missing = [i for i in wanted if i not in found]
        if missing:
            raise IndexCorruptError(
                f"{len(missing)} chunk vectors are missing from the Chroma server; "
                "run `coe ingest --rebuild` once"
            )
        if not ids:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([found[i] for i in ids])

    # -- publishing --------------------------------------------------------------------------

    @contextmanager
    def publishing(self, rebuild: bool = False) -> Iterator[None]:
        """Holds the one ingest claim while a run builds on the newest published generation.

        A second ingest anywhere gets IngestBusyError at once; a killed one stops renewing,
        and its claim lapses within INGEST_LEASE_S. A rebuild needs nothing from the old
        generation, so it also runs when that one cannot be copied (its vectors were lost).
        """
        if not self.claims.take(INGEST_CLAIM, INGEST_LEASE_S):
            holder = self.claims.holder(INGEST_CLAIM) or "another process"
            raise IngestBusyError(
                f"another ingest is publishing to this index ({holder}); "
                "wait for it to finish, then run this one again"
            )
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(INGEST_LEASE_S / 4):
                try:
                    if not self.claims.renew(INGEST_CLAIM, INGEST_LEASE_S):
                        log.error("lost the ingest claim; this run will not publish")
                        return
                except Exception as error:  # the database may blink: try again next beat
                    log.warning("could not renew the ingest claim: %s", error)

        beat = threading.Thread(target=renew, name="coe-ingest-claim", daemon=True)
        beat.start()
        try:
            try:
                self.sync()  # start from what replicas serve, not from a stale local copy
            except Exception as error:
                if not rebuild:
                    raise
                log.warning("rebuilding without a copy of the current generation: %s", error)
            yield
        finally:
            stop.set()
            self.claims.release(INGEST_CLAIM)

    def publish(self, data_dir: Path, name: str) -> None:
        """Stores generation `name` (written in `data_dir`) for every replica, in one
        transaction; fails (and publishes nothing) if this run no longer holds the claim."""
        manifest = read_manifest(data_dir, name)
        chunks = read_chunks(data_dir, name)
        files = _extra_files(generation_dir(data_dir, name))
        self._upload_missing_vectors(data_dir, name, chunks)
        number = manifest.generation
        with self.store.session() as session:
            if not self.claims.renew(INGEST_CLAIM, INGEST_LEASE_S):
                raise IngestBusyError(
                    "this ingest lost its claim (another one took over); nothing was published"
                )
            newest = session.execute(select(func.max(IndexGeneration.number))).scalar()
            if newest is not None and newest >= number:
                raise IngestBusyError(
                    f"generation {generation_name(newest)} was published meanwhile; "
                    "run the ingest again to build on it"
                )
            session.add(
                IndexGeneration(
                    number=number,
                    manifest=manifest.model_dump_json(),
                    chunk_count=len(chunks),
                    embedding_model=manifest.embedding_model,
                    published_by=process_owner(),
                )
            )
            session.flush()
            session.add_all(
                IndexChunk(generation=number, position=i, chunk_id=c.id, record=c.model_dump_json())
                for i, c in enumerate(chunks)
            )
            session.add_all(IndexFile(generation=number, name=n, data=d) for n, d in files.items())
            self._prune(session, number)
        _mark(generation_dir(data_dir, name), number, process_owner())

    def _upload_missing_vectors(self, data_dir: Path, name: str, chunks: list[ChunkRecord]) -> None:
        """Puts into the server the vectors it lacks: a generation built before this index
        was shared has them only in its local folder."""
        collection = open_collection(self.data_dir, self.chroma_url)
        ids = [c.id for c in chunks]
        present: set[str] = set()
        for start in range(0, len(ids), FETCH_BATCH):
            present.update(collection.get(ids=ids[start : start + FETCH_BATCH], include=[])["ids"])
        missing = [i for i, chunk_id in enumerate(ids) if chunk_id not in present]
        if not missing:
            return
        vectors = read_vectors(data_dir, name)
        for start in range(0, len(missing), FETCH_BATCH):
            rows = missing[start : start + FETCH_BATCH]
            collection.upsert(
                ids=[chunks[i].id for i in rows],
                embeddings=[vectors[i].tolist() for i in rows],
                metadatas=[
                    {"doc_id": chunks[i].doc_id, "audience": chunks[i].audience} for i in rows
                ],
            )

    def publish_existing(self) -> str | None:
        """Publishes the local current generation when the database has none yet (moving a
        single-machine index to the shared one); returns its name."""
        if self.newest() is not None:
            return None
        name = current_generation(self.data_dir)
        if name is None:
            return None
        self.publish(self.data_dir, name)
        return name

    def attach_files(self, name: str) -> None:
        """Stores files added to an already published generation (quote vectors or a
        calibration an unchanged ingest filled in); replicas copy them with the next one."""
        number = int(name[1:])
        folder = generation_dir(self.data_dir, name)
        with self.store.session() as session:
            if session.get(IndexGeneration, number) is None:
                return
            have = set(
                session.execute(
                    select(IndexFile.name).where(IndexFile.generation == number)
                ).scalars()
            )
            for name, data in _extra_files(folder).items():
                if name not in have:
                    session.add(IndexFile(generation=number, name=name, data=data))

    @staticmethod
    def _prune(session, newest: int) -> None:
        numbers = (
            session.execute(select(IndexGeneration.number).order_by(IndexGeneration.number.desc()))
            .scalars()
            .all()
        )
        old = [n for n in numbers if n != newest][KEEP_PUBLISHED - 1 :]
        if old:
            # Children first: SQLite enforces the foreign keys but not every driver cascades.
            session.execute(delete(IndexChunk).where(IndexChunk.generation.in_(old)))
            session.execute(delete(IndexFile).where(IndexFile.generation.in_(old)))
            session.execute(delete(IndexGeneration).where(IndexGeneration.number.in_(old)))

    # -- operations --------------------------------------------------------------------------

    def ping_chroma(self) -> None:
        from ingest.index_store import chroma_client

        chroma_client(self.data_dir, self.chroma_url).heartbeat()

    def follow(self, every_s: float, stop: threading.Event) -> threading.Thread:
        """Checks for a newer generation every `every_s` until `stop` is set."""

        def loop() -> None:
            failing = False
            while not stop.wait(every_s):
                try:
                    self.sync()
                    if failing:
                        log.info("index sync works again")
                    failing = False
                except Exception as error:  # database or Chroma down: keep the one we have
                    if not failing:
                        log.warning("index sync failed (answers use the current one): %s", error)
                    failing = True

        thread = threading.Thread(target=loop, name="coe-index-sync", daemon=True)
        thread.start()
        return thread
