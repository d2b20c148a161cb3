"""Runs every benchmark in its own process (so peak RSS is per scenario) and prints the results.

make bench        # or: python -m benchmarks.run_all
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

RUNS = [
    ["benchmarks.bench_startup", "--rounds", "3"],
    ["benchmarks.bench_ingest", "--files", "1000"],
    ["benchmarks.bench_answer", "--chunks", "1000"],
    ["benchmarks.bench_answer", "--chunks", "10000", "--rounds", "2", "--reuse-vectors"],
    ["benchmarks.bench_answer", "--chunks", "100000", "--rounds", "2", "--reuse-vectors"],
    ["benchmarks.bench_slack_burst", "--events", "200", "--concurrency", "20"],
]


def main() -> None:
    print(
        f"python {platform.python_version()} on {platform.machine()}, {platform.processor() or ''}"
    )
    for run in RUNS:
        completed = subprocess.run([sys.executable, "-m", *run], capture_output=True, text=True)
        if completed.returncode != 0:
            print(" ".join(run), "FAILED", completed.stderr[-2000:])
            continue
        result = json.loads(completed.stdout.strip().splitlines()[-1])
        print(" ".join(run[0:1] + run[1:]), json.dumps(result))


if __name__ == "__main__":
    main()
