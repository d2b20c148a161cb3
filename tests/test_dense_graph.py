"""Large indexes search a graph for candidates and score them exactly (ingest.dense_ann).

The graph only pays from 20,000 chunks up; these tests lower that bar to run it on the
bundled knowledge base, and compare it with the exact search smaller indexes use.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from bot.evaluation.golden import load_golden
from ingest import dense_ann
from ingest.embedding import shared_embedder
from ingest.index_store import (
    STAFF_AUDIENCE,
    KnowledgeIndex,
    current_generation,
    generation_dir,
    read_chunks,
    read_vectors,
)
from ingest.pipeline import run_ingest
from tests.conftest import doc


@pytest.fixture()
def graph_data(kb_data, tmp_path, monkeypatch):
    monkeypatch.setattr(dense_ann, "ANN_FROM_CHUNKS", 50)
    data = tmp_path / "data"
    shutil.copytree(kb_data, data)
    name = current_generation(data)
    assert name is not None
    chunks = read_chunks(data, name)
    assert dense_ann.write_graph(
        generation_dir(data, name), [c.id for c in chunks], read_vectors(data, name)
    )
    return data


def _exact(index: KnowledgeIndex, vector: np.ndarray, k: int, staff: bool) -> list[int]:
    similarity = read_vectors(index.data_dir, index.generation) @ vector
    visible = [i for i, c in enumerate(index.chunks) if staff or c.audience != STAFF_AUDIENCE]
    return sorted(visible, key=lambda i: (-float(similarity[i]), i))[:k]


def test_graph_search_finds_what_exact_search_finds_with_the_same_scores(graph_data):
    index = KnowledgeIndex(graph_data)
    assert index._graph is not None
    embedder = shared_embedder()
    found = expected = 0
    for question in load_golden().questions:
        vector = embedder.embed_query(question.question)
        for staff in (False, True):
            hits = index.dense(vector, 10, staff)
            exact = _exact(index, vector, 10, staff)
            found += len({h.position for h in hits} & set(exact))
            expected += len(exact)
            for hit in hits:  # scores are exact, whichever way a hit was found
                assert hit.score == pytest.approx(float(index._vectors[hit.position] @ vector))
            if not staff:
                assert all(index.chunks[h.position].audience != STAFF_AUDIENCE for h in hits)
    assert found / expected >= 0.99


def test_the_next_generation_updates_the_graph_it_had(graph_data, bundled, tmp_path, monkeypatch):
    monkeypatch.setattr(dense_ann, "ANN_FROM_CHUNKS", 50)
    docs = tmp_path / bundled.name  # the same folder name: the same documents, edited
    shutil.copytree(bundled, docs)
    removed = sorted(docs.rglob("*.md"))[0]
    removed.unlink()
    (docs / "harbour.md").write_text(
        doc("Harbour pilots", "Harbour pilots board every tanker above 40,000 tonnes at buoy 7.")
    )
    before = KnowledgeIndex(graph_data)
    report = run_ingest([docs], graph_data, 10_000_000)
    assert report.published and not report.failed
    after = KnowledgeIndex(graph_data)
    assert after._graph is not None and after.generation != before.generation

    held = set(np.asarray(after._graph._index.keys).tolist())  # what the file holds
    assert held == {dense_ann.key_of(c.id) for c in after.chunks}
    vector = shared_embedder().embed_query("Which tankers do harbour pilots board?")
    top = after.dense(vector, 3, staff=False)
    assert after.chunks[top[0].position].title == "Harbour pilots"


def test_a_damaged_graph_falls_back_to_exact_search(graph_data):
    name = current_generation(graph_data)
    assert name is not None
    (generation_dir(graph_data, name) / dense_ann.GRAPH_FILE).write_bytes(b"not a graph")
    index = KnowledgeIndex(graph_data)
    assert index._graph is None
    vector = shared_embedder().embed_query("Who signs off a high-risk launch?")
    assert [h.position for h in index.dense(vector, 5, False)] == _exact(index, vector, 5, False)


def test_the_graph_library_and_onnx_runtime_load_in_either_order():
    # With usearch 2.26.6, importing onnxruntime after it was a segmentation fault.
    for first, second in (("usearch.index", "onnxruntime"), ("onnxruntime", "usearch.index")):
        done = subprocess.run(
            [sys.executable, "-c", f"import {first}; import {second}"], timeout=120
        )
        assert done.returncode == 0, (first, second, done.returncode)


def test_an_open_index_still_reads_its_passages_after_a_later_ingest_removed_them(graph_data):
    index = KnowledgeIndex(graph_data)
    expected = read_chunks(graph_data, index.generation)
    shutil.rmtree(generation_dir(graph_data, index.generation))  # what garbage collection does
    assert [c.text for c in index.chunks] == [c.text for c in expected]
    vector = shared_embedder().embed_query("Who signs off a high-risk launch?")
    assert index.dense(vector, 5, staff=False)  # the graph and vectors were mapped: still there
