"""An index of up to 100,000+ chunks for scale runs, built without embedding every text.

Throughput runs (`bench_ingest`) embed for real. Runs that measure search and memory at
scale only need vectors shaped like real ones: here every text is given the real embedding
of one of a few hundred knowledge-base sentences, picked by a hash of the text, plus a little
noise, so no two chunks share a vector and the nearest neighbours of a real question are
spread over the corpus as they would be. Everything else — parsing, chunking, the keyword
index, the quotable pieces and the files a server loads — is the real ingest.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from benchmarks.corpus import sentence_pool, write_corpus
from bot.answering.quotes import write_quote_vectors
from ingest.embedding import shared_embedder
from ingest.index_store import current_generation
from ingest.pipeline import IngestReport, run_ingest

POOL_SIZE = 400
NOISE = 0.02  # per dimension, before renormalising: cosine ~0.93 to the pool vector


class ReusedVectors:
    """A stand-in embedder: real vectors of a small pool, reused with seeded noise."""

    dimension = 384

    def __init__(self, pool: np.ndarray, noise: float = NOISE) -> None:
        self._pool = pool
        self._noise = noise

    @classmethod
    def from_knowledge_base(cls, size: int = POOL_SIZE) -> ReusedVectors:
        sentences = sentence_pool()[:size]
        return cls(shared_embedder().embed(sentences))

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = zlib.crc32(text.encode("utf-8"))
            noise = np.random.default_rng(seed).standard_normal(self.dimension)
            vector = self._pool[seed % len(self._pool)] + self._noise * noise
            out[row] = vector / np.linalg.norm(vector)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def build_scale_index(docs: Path, data: Path, chunks: int, sections: int = 10) -> IngestReport:
    """Writes a corpus of about `chunks` chunks (if `docs` is empty) and ingests it, with
    quote vectors, using reused vectors throughout."""
    if not docs.exists():
        write_corpus(docs, max(1, chunks // sections), sections)
    embedder = ReusedVectors.from_knowledge_base()

    def store_quotes(data_dir: Path, name: str) -> None:
        write_quote_vectors(data_dir, name, embedder.embed, previous=current_generation(data_dir))

    return run_ingest(
        [docs], data, 10_000_000, embedder_factory=lambda: embedder, before_publish=store_quotes
    )
