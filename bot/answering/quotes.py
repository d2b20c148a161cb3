"""Quote vectors: the meaning of every quotable piece of every passage, embedded at ingest.

An answer judges its candidate quotes by meaning, and the answer/decline rule asks how close
the best quotable sentence comes to the question. Embedding a few dozen pieces per question
would cost ~100 ms; read from the generation they cost a matrix product.

Stored in each generation, next to the chunk vectors::

    quotes.npy         float16, one row per quotable piece, passages in chunks.jsonl order
    quote_offsets.npy  int64, len(chunks) + 1: passage i owns rows offsets[i]:offsets[i+1]
    quotes.json        what the rows were made with; written last, so its presence means done

A generation without them (an older index, a failed step) still answers: the service embeds
the pieces of the passages it needs and keeps them (see AnswerService).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.answering.units import MEANING_WORDS, meaning_text, quotable_units
from ingest.embedding import MODEL_NAME
from ingest.index_store import generation_dir, read_chunks
from ingest.records import ChunkRecord

QUOTES_FILE = "quotes.npy"
OFFSETS_FILE = "quote_offsets.npy"
META_FILE = "quotes.json"
# Bump when the way passages are cut into pieces changes: old rows would mean other pieces.
QUOTES_VERSION = 3
EMBED_CHUNK = 512  # pieces embedded per call, so memory stays flat on a large corpus

log = logging.getLogger(__name__)
Embed = Callable[[list[str]], np.ndarray]


class Progress(Protocol):
    """How far embedding has got: a big knowledge base takes minutes (6 ms a piece)."""

    def start(self, total: int) -> None: ...
    def advance(self, amount: int) -> None: ...
    def stop(self) -> None: ...


def _meta() -> dict[str, object]:
    return {"version": QUOTES_VERSION, "model": MODEL_NAME, "words": MEANING_WORDS}


def meaning_texts(chunk: ChunkRecord) -> list[str]:
    return [meaning_text(u) for u in quotable_units(chunk.text, chunk.heading)]


class QuoteVectors:
    """A generation's quote vectors (0.75 kB a piece), mapped from disk rather than read:
    at 100,000 passages they are ~400 MB, of which a question touches a few kB. The file is
    never rewritten in place (a new generation is a new folder, and removing an old one
    leaves a mapping valid), so the mapping stays what it was when opened."""

    def __init__(self, vectors: np.ndarray, offsets: np.ndarray) -> None:
        self._vectors = vectors
        self._offsets = offsets

    @classmethod
    def load(cls, directory: Path, chunk_count: int) -> QuoteVectors | None:
        """None when the generation has none, or they do not fit this version or index."""
        try:
            meta = json.loads((directory / META_FILE).read_text())
            if meta != _meta():
                return None
            vectors = np.load(directory / QUOTES_FILE, allow_pickle=False, mmap_mode="r")
            offsets = np.load(directory / OFFSETS_FILE, allow_pickle=False)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            log.warning("ignoring the quote vectors in %s: %s", directory, error)
            return None
        if len(offsets) != chunk_count + 1 or int(offsets[-1]) != len(vectors):
            log.warning("ignoring the quote vectors in %s: they do not match the index", directory)
            return None
        return cls(vectors, offsets)

    def for_passage(self, position: int) -> np.ndarray:
        start, end = int(self._offsets[position]), int(self._offsets[position + 1])
        return self._vectors[start:end].astype(np.float32)


def _save(path: Path, array: np.ndarray) -> None:
    pending = path.with_name(path.name + ".tmp")
    with open(pending, "wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pending, path)


def write_quote_vectors(
    data_dir: Path,
    name: str,
    embed: Embed,
    previous: str | None = None,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Embeds the quotable pieces of generation `name`, reusing `previous`'s rows for
    passages it already had. Returns (pieces stored, pieces embedded now)."""
    target = generation_dir(data_dir, name)
    chunks = read_chunks(data_dir, name)
    texts = [meaning_texts(c) for c in chunks]
    reused: dict[str, np.ndarray] = {}
    if previous and previous != name:
        old_dir = generation_dir(data_dir, previous)
        try:
            old_chunks = read_chunks(data_dir, previous)
        except Exception:  # a damaged or vanished old generation: embed everything
            old_chunks = []
        old = QuoteVectors.load(old_dir, len(old_chunks)) if old_chunks else None
        if old is not None:
            # A chunk's id changes with its text, so equal ids mean equal pieces.
            reused = {c.id: old.for_passage(i) for i, c in enumerate(old_chunks)}
    missing = [
        t
        for c, pieces in zip(chunks, texts, strict=True)
        if c.id not in reused or len(reused[c.id]) != len(pieces)
        for t in pieces
    ]
    made: list[np.ndarray] = []
    if progress is not None and missing:
        progress.start(len(missing))
    try:
        for start in range(0, len(missing), EMBED_CHUNK):
            batch = missing[start : start + EMBED_CHUNK]
            made.append(np.asarray(embed(batch), dtype=np.float32))
            if progress is not None:
                progress.advance(len(batch))
    finally:
        if progress is not None:
            progress.stop()
    fresh = iter(np.concatenate(made) if made else np.zeros((0, 0), dtype=np.float32))
    rows: list[np.ndarray] = []
    offsets = [0]
    for chunk, pieces in zip(chunks, texts, strict=True):
        kept = reused.get(chunk.id)
        if kept is not None and len(kept) == len(pieces):
            rows.extend(kept)
        else:
            rows.extend(next(fresh) for _ in pieces)
        offsets.append(len(rows))
    dimension = rows[0].shape[0] if rows else 0
    vectors = np.asarray(rows, dtype=np.float16).reshape(len(rows), dimension)
    (target / META_FILE).unlink(missing_ok=True)
    _save(target / QUOTES_FILE, vectors)
    _save(target / OFFSETS_FILE, np.asarray(offsets, dtype=np.int64))
    pending = target / (META_FILE + ".tmp")
    pending.write_text(json.dumps(_meta()))
    os.replace(pending, target / META_FILE)
    return len(rows), len(missing)


def has_quote_vectors(data_dir: Path, name: str) -> bool:
    """True when generation `name` has quote vectors this version can read: after an upgrade
    that cuts pieces differently, the next ingest writes them again, even if nothing changed."""
    try:
        return json.loads((generation_dir(data_dir, name) / META_FILE).read_text()) == _meta()
    except (OSError, ValueError):
        return False
