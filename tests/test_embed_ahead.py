"""Embedding while the scan reads: a failure stops the run, publishes nothing, keeps its work."""

from __future__ import annotations

import threading

import pytest

from ingest.embedding import shared_embedder
from ingest.index_store import current_generation
from ingest.pipeline import run_ingest
from tests.conftest import doc


class FailsOnSecondCall:
    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("embedding service gone")
        return shared_embedder().embed(texts)


def test_a_failing_embedder_publishes_nothing_and_the_next_run_reuses_what_was_embedded(
    write, tmp_path
):
    write("first.md", doc("First", "The harbour office opens at seven."))
    data = tmp_path / "data"
    assert run_ingest([write.root], data, 10_000_000).published
    before = current_generation(data)
    for n in range(200):  # two groups of 128: the second one fails
        write(f"bulk-{n:03}.md", doc(f"Bulk {n}", f"Buoy {n} is painted {n % 7} colours."))

    failing = FailsOnSecondCall()
    with pytest.raises(RuntimeError, match="embedding service gone"):
        run_ingest([write.root], data, 10_000_000, embedder_factory=lambda: failing)
    assert current_generation(data) == before
    assert not [t for t in threading.enumerate() if t.name == "embed-ahead"]

    report = run_ingest([write.root], data, 10_000_000)
    assert report.published and not report.failed
    assert report.chunks_reused == 128 and report.chunks_embedded == 200 - 128
