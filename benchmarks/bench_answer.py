"""Retrieval and full-answer latency (p50/p95) with the model loaded, and peak RSS.

python -m benchmarks.bench_answer --chunks 10000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import write_corpus
from bot.answering.quotes import write_quote_vectors
from bot.answering.service import AnswerService
from bot.evaluation.golden import load_golden
from ingest.embedding import shared_embedder
from ingest.index_store import current_generation
from ingest.pipeline import run_ingest

SECTIONS_PER_DOC = 10


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="reuse an index built by an earlier run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp) / "data"
        # With --data-dir the corpus sits beside it, so a second run re-ingests nothing.
        docs = data.with_name(f"{data.name}-docs") if args.data_dir else Path(tmp) / "docs"
        if not docs.exists():
            write_corpus(docs, args.chunks // SECTIONS_PER_DOC, SECTIONS_PER_DOC)
        quote_s: list[float] = []

        def store_quotes(data_dir: Path, name: str) -> None:
            # What `coe ingest` does before publishing: the quotable pieces' meaning.
            began = time.perf_counter()
            write_quote_vectors(
                data_dir, name, shared_embedder().embed, previous=current_generation(data_dir)
            )
            quote_s.append(time.perf_counter() - began)

        started = time.perf_counter()
        report = run_ingest([docs], data, 10_000_000, before_publish=store_quotes)
        build_s = time.perf_counter() - started
        service = AnswerService(data)
        service.warm_up()
        questions = [q.question for q in load_golden().questions]
        retrieval: list[float] = []
        answers: list[float] = []
        for _ in range(args.rounds):
            for question in questions:
                started = time.perf_counter()
                service.retrieve(question, staff=False)
                retrieval.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                service.ask(question)
                answers.append((time.perf_counter() - started) * 1000)
    print(
        json.dumps(
            {
                "chunks": report.chunks_total,
                "index_build_s": round(build_s, 1),
                "of_which_quote_vectors_s": round(sum(quote_s), 1),
                "queries": len(answers),
                "retrieval_p50_ms": round(_percentile(retrieval, 50), 1),
                "retrieval_p95_ms": round(_percentile(retrieval, 95), 1),
                "answer_p50_ms": round(_percentile(answers, 50), 1),
                "answer_p95_ms": round(_percentile(answers, 95), 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
