"""Retrieval and full-answer latency (p50/p95) and a server's peak RSS, at scale.

python -m benchmarks.bench_answer --chunks 10000 [--data-dir D] [--reuse-vectors]

The index is built in this process; the questions are then asked by a fresh process
(`benchmarks.answer_probe`), so the memory figure is a server's, not ingest's. By default
every chunk and quote is embedded for real; `--reuse-vectors` builds the index from reused
vectors with noise (`benchmarks.scale_corpus`), which reaches 100,000 chunks in minutes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import write_corpus
from benchmarks.scale_corpus import build_scale_index
from bot.answering.quotes import write_quote_vectors
from ingest.embedding import shared_embedder
from ingest.index_store import current_generation
from ingest.pipeline import IngestReport, run_ingest

SECTIONS_PER_DOC = 10


def _build_real(docs: Path, data: Path, chunks: int) -> IngestReport:
    if not docs.exists():
        write_corpus(docs, max(1, chunks // SECTIONS_PER_DOC), SECTIONS_PER_DOC)

    def store_quotes(data_dir: Path, name: str) -> None:
        # What `coe ingest` does before publishing: the quotable pieces' meaning.
        write_quote_vectors(
            data_dir, name, shared_embedder().embed, previous=current_generation(data_dir)
        )

    return run_ingest([docs], data, 10_000_000, before_publish=store_quotes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, help="reuse an index built by an earlier run")
    parser.add_argument(
        "--reuse-vectors", action="store_true", help="reused vectors with noise (scale runs)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp) / "data"
        # With --data-dir the corpus sits beside it, so a second run re-ingests nothing.
        docs = data.with_name(f"{data.name}-docs") if args.data_dir else Path(tmp) / "docs"
        started = time.perf_counter()
        if args.reuse_vectors:
            report = build_scale_index(docs, data, args.chunks, SECTIONS_PER_DOC)
        else:
            report = _build_real(docs, data, args.chunks)
        build_s = time.perf_counter() - started
        probe = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.answer_probe",
                str(data),
                "--rounds",
                f"{args.rounds}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    served = json.loads(probe.stdout.strip().splitlines()[-1])
    result = {
        "chunks": report.chunks_total,
        "vectors": "reused with noise" if args.reuse_vectors else "embedded",
        "index_build_s": round(build_s, 1),
        **served,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
