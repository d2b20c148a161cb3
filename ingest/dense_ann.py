"""An approximate nearest-neighbour graph (HNSW, from usearch) for larger indexes.

Exact search reads every vector for every question: ~3 ms at 10,000 chunks, ~12 ms (estimated) at
50,000 and ~24 ms at 100,000 on this machine kind (a scan bound by memory bandwidth), against
a question budget of 25 ms. From `ANN_FROM_CHUNKS` chunks up, each generation also gets a graph
(`dense.usearch`) that finds the candidates in under a millisecond; their scores are then
computed exactly from the stored vectors, so only which candidates are found can differ from
exact search, never their similarity. Below that size exact search is cheap, and it is kept:
a graph can miss a neighbour (see EXPANSION_SEARCH), exact search cannot.

The graph is keyed by a hash of the chunk id, so the next generation can take the previous
graph, drop the chunks that went and add the new ones, instead of building it again.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np

ANN_FROM_CHUNKS = 50_000
GRAPH_FILE = "dense.usearch"
# Candidates asked of the graph per wanted result: the rest of the budget goes to rescoring
# them exactly, and to hits a caller may not see (staff-only passages).
OVERSAMPLE = 4
CONNECTIVITY = 16
EXPANSION_ADD = 128
# Measured at 100,000 chunks of a deliberately clustered corpus (RESULTS.md): recall@10 of
# the graph against exact search 0.70 at 128, 0.92 at 512 (~2 ms a question).
EXPANSION_SEARCH = 512


def key_of(chunk_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(chunk_id.encode(), digest_size=8).digest()) >> 1


def _new_graph(dimension: int):
    from usearch.index import Index

    return Index(
        ndim=dimension,
        metric="ip",
        dtype="f16",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )


def write_graph(
    target: Path, ids: list[str], vectors: np.ndarray, previous: Path | None = None
) -> bool:
    """Writes the graph of a generation into folder `target` when it is large enough;
    reuses `previous` (another generation's folder) where it has one. True if written."""
    if len(ids) < ANN_FROM_CHUNKS:
        return False
    from usearch.index import Index

    keys = np.fromiter((key_of(i) for i in ids), dtype=np.uint64, count=len(ids))
    graph = None
    have: set[int] = set()
    old_graph = previous / GRAPH_FILE if previous is not None else None
    if old_graph is not None and old_graph.exists():
        try:
            graph = Index.restore(str(old_graph))
        except Exception:  # unreadable: build anew below
            graph = None
    if graph is not None and graph.ndim == vectors.shape[1]:
        wanted = set(keys.tolist())
        held = np.asarray(graph.keys, dtype=np.uint64)
        gone = [k for k in held.tolist() if k not in wanted]
        if gone:
            graph.remove(gone)
        have = set(held.tolist()) - set(gone)
    else:
        graph = _new_graph(vectors.shape[1])
    # The same chunk may be listed twice (two folders holding the same file): one node each.
    new_rows: list[int] = []
    for row, k in enumerate(keys.tolist()):
        if k not in have:
            have.add(k)
            new_rows.append(row)
    if new_rows:
        rows = np.asarray(new_rows)
        # One thread: nodes inserted concurrently can end up with no incoming links, found by
        # no question (1 of 313 bundled chunks, now and then, cost 1.5 % recall@10 in CI), and
        # the same chunks should give the same graph. 100k chunks: 25 s against 15 s on two.
        graph.add(keys[rows], np.ascontiguousarray(vectors[rows], dtype=np.float32), threads=1)
    pending = target / (GRAPH_FILE + ".tmp")
    graph.save(str(pending))
    shutil.move(str(pending), str(target / GRAPH_FILE))
    return True


class Graph:
    """A generation's graph, mapped from disk; positions are rows of the chunk list."""

    def __init__(self, folder: Path, ids: list[str]) -> None:
        from usearch.index import Index

        index = Index.restore(str(folder / GRAPH_FILE), view=True)
        if index is None:
            raise ValueError(f"{folder / GRAPH_FILE} is not a search graph")
        # Not kept in the file: a restored graph would search with the library's default.
        index.expansion_search = EXPANSION_SEARCH  # type: ignore[misc]  # has a setter
        self._index = index
        self._position: dict[int, int] = {}
        for row, chunk_id in enumerate(ids):
            self._position.setdefault(key_of(chunk_id), row)
        if len(self._index) != len(self._position):
            raise ValueError(f"the graph holds {len(self._index)} of {len(self._position)} chunks")

    @classmethod
    def open(cls, folder: Path, ids: list[str]) -> Graph | None:
        if len(ids) < ANN_FROM_CHUNKS or not (folder / GRAPH_FILE).exists():
            return None
        try:
            return cls(folder, ids)
        except Exception:  # a damaged graph costs speed, never answers: search exactly
            return None

    def candidates(self, query: np.ndarray, count: int) -> list[int]:
        found = self._index.search(np.asarray(query, dtype=np.float32), count)
        return [self._position[int(k)] for k in found.keys if int(k) in self._position]
