"""Ingest throughput (chunks/s) and the no-op re-ingest of 1,000 files.

python -m benchmarks.bench_ingest [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import write_corpus
from ingest.pipeline import run_ingest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = write_corpus(Path(tmp) / "docs", documents=args.files, sections=1)
        data = Path(tmp) / "data"
        started = time.perf_counter()
        report = run_ingest([docs], data, 10_000_000)
        full = time.perf_counter() - started
        assert not report.failed, report.failed

        started = time.perf_counter()
        noop = run_ingest([docs], data, 10_000_000)
        noop_in_process = time.perf_counter() - started
        assert noop.chunks_embedded == 0

        env = {**os.environ, "COE_DATA_DIR": str(data)}
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "ingest", str(docs)],
            env=env,
            check=True,
            capture_output=True,
        )
        noop_command = time.perf_counter() - started
    print(
        json.dumps(
            {
                "files": args.files,
                "chunks": report.chunks_total,
                "full_ingest_s": round(full, 1),
                "chunks_per_s": round(report.chunks_embedded / full, 1),
                "noop_reingest_in_process_s": round(noop_in_process, 3),
                "noop_reingest_command_s": round(noop_command, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
