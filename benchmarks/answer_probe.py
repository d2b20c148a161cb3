"""The serving side of `bench_answer`, in a fresh process: a server's memory is measured
without whatever building the index left behind.

python -m benchmarks.answer_probe DATA_DIR [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from bot.answering.service import AnswerService
from bot.evaluation.golden import load_golden
from ingest.embedding import shared_embedder


def peak_rss_mb() -> int:
    """This process's own peak (VmHWM): ru_maxrss would count the parent's memory at fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()
    service = AnswerService(args.data_dir)
    service.warm_up()
    ready_s = time.perf_counter() - started
    questions = [q.question for q in load_golden().questions]
    retrieval: list[float] = []
    answers: list[float] = []
    embedding: list[float] = []  # the question's vector alone: the floor under every answer
    embedder = shared_embedder()
    for _ in range(args.rounds):
        for question in questions:
            began = time.perf_counter()
            embedder.embed_query(question)
            embedding.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            service.retrieve(question, staff=False)
            retrieval.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            service.ask(question)
            answers.append((time.perf_counter() - began) * 1000)
    heavy = sorted(m for m in ("torch", "sentence_transformers") if m in sys.modules)
    print(
        json.dumps(
            {
                "load_and_warm_up_s": round(ready_s, 2),
                "queries": len(answers),
                "embedding_p50_ms": round(percentile(embedding, 50), 1),
                "embedding_p95_ms": round(percentile(embedding, 95), 1),
                "retrieval_p50_ms": round(percentile(retrieval, 50), 1),
                "retrieval_p95_ms": round(percentile(retrieval, 95), 1),
                "answer_p50_ms": round(percentile(answers, 50), 1),
                "answer_p95_ms": round(percentile(answers, 95), 1),
                "peak_rss_mb": peak_rss_mb(),
                "imported": heavy,
            }
        )
    )


if __name__ == "__main__":
    main()
