"""Embedding that starts while the scan is still reading files.

Parsing runs in the sandbox's process and chunking in the caller's thread; embedding runs
here, in a thread of its own (ONNX Runtime releases the GIL), so the three overlap instead of
taking turns. Chunks arrive file by file; they are embedded in groups of like length, and
every group is written to the vector store as soon as it is done, so a killed run keeps what
it embedded for the next one.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.index_store import open_collection
from ingest.records import ChunkRecord

# Enough texts per call for every core to take batches of like length; a killed run loses
# at most this many chunks' work.
EMBED_WRITE_BATCH = 128
PROGRESS_NOTE_EVERY_S = 5.0


class TextEmbedder(Protocol):
    def embed(self, texts: list[str]) -> np.ndarray: ...


class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...


def note(message: str) -> None:
    # A plain line on stderr marks each phase, for operators tailing logs and for tests.
    print(f"[ingest] {message}", file=sys.stderr, flush=True)


class EmbedAhead:
    """Takes new chunks as the scan makes them; `finish()` returns the vectors it made.

    The model and the vector store are opened on the first chunk, so a run with nothing new
    never loads either. With `trust_cache` off (a rebuild against a shared store) every chunk
    is embedded again, whatever the store holds.
    """

    def __init__(
        self,
        data_dir: Path,
        chroma_url: str | None,
        embedder_factory: Callable[[], TextEmbedder] | None,
        trust_cache: bool = True,
    ) -> None:
        self._data_dir = data_dir
        self._chroma_url = chroma_url
        self._factory = embedder_factory
        self._trust_cache = trust_cache
        self._inbox: queue.Queue[list[ChunkRecord] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._seen: set[str] = set()
        self._progress: Progress | None = None
        self._progress_lock = threading.Lock()
        self._last_note = 0.0
        self._aborted = False
        self.collection: Any = None  # a Chroma collection, opened by the worker
        self.made: dict[str, np.ndarray] = {}
        self.checked = 0  # new chunks looked up in the store
        self.embedded = 0

    def add(self, records: list[ChunkRecord]) -> None:
        if self._error is not None:
            raise self._error
        if not records:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="embed-ahead", daemon=True)
            self._thread.start()
        self._inbox.put(records)

    def finish(self, progress: Progress, total: int) -> dict[str, np.ndarray]:
        """Waits for the rest; `total` new chunks in all, for the progress bar."""
        with self._progress_lock:
            remaining = total - self.checked
            if remaining > 0:
                progress.start(total)
                progress.advance(self.checked)
                self._progress = progress
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self.made

    def abort(self) -> None:
        """Stops the worker without embedding what is still queued (the run failed)."""
        self._aborted = True
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join()

    def _work(self) -> None:
        try:
            self.collection = open_collection(self._data_dir, self._chroma_url)
            embedder = None
            pending: list[ChunkRecord] = []
            done = False
            while not done:
                item = self._inbox.get()
                if item is None:
                    done = True
                else:
                    pending.extend(r for r in item if r.id not in self._seen)
                    self._seen.update(r.id for r in item)
                    # Take what else has arrived meanwhile, without waiting for it.
                    while len(pending) < EMBED_WRITE_BATCH:
                        try:
                            more = self._inbox.get_nowait()
                        except queue.Empty:
                            break
                        if more is None:
                            done = True
                            break
                        pending.extend(r for r in more if r.id not in self._seen)
                        self._seen.update(r.id for r in more)
                # Shortest first: like lengths batch with little padding (vectors go by id).
                pending.sort(key=lambda r: len(r.embed_text))
                while not self._aborted and (
                    len(pending) >= EMBED_WRITE_BATCH or (done and pending)
                ):
                    batch, pending = pending[:EMBED_WRITE_BATCH], pending[EMBED_WRITE_BATCH:]
                    embedder = self._embed(batch, embedder)
        except BaseException as error:  # handed to the scan, which stops and reports it
            self._error = error

    def _embed(self, batch: list[ChunkRecord], embedder):
        missing = batch
        if self._trust_cache:
            stored = set(self.collection.get(ids=[r.id for r in batch], include=[])["ids"])
            missing = [r for r in batch if r.id not in stored]
        if missing:
            if embedder is None:
                embedder = self._open_embedder()
            vectors = embedder.embed([r.embed_text for r in missing])
            self.collection.upsert(
                ids=[r.id for r in missing],
                embeddings=vectors.tolist(),
                metadatas=[{"doc_id": r.doc_id, "audience": r.audience} for r in missing],
            )
            self.made.update(zip((r.id for r in missing), vectors, strict=True))
            self.embedded += len(missing)
        with self._progress_lock:
            self.checked += len(batch)
            if self._progress is not None:
                self._progress.advance(len(batch))
        if missing and time.monotonic() - self._last_note >= PROGRESS_NOTE_EVERY_S:
            self._last_note = time.monotonic()
            note(f"embedded {self.embedded} chunks so far")
        return embedder

    def _open_embedder(self) -> TextEmbedder:
        factory = self._factory
        if factory is None:
            from ingest.embedding import shared_embedder

            factory = shared_embedder
        note("embedding new chunks while reading files")
        return factory()
