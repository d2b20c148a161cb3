"""Cold start: one `coe ask` in a fresh interpreter against `import sentence_transformers`
alone, in the same run (issue 12's yardstick), plus `coe --help`.

    python -m benchmarks.bench_startup --rounds 3

Ingests the bundled knowledge base into a temporary folder first; each timed command is a
new process, so imports are paid every time (the OS file cache is warm, as after a restart).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    coe = [sys.executable, "-m", "bot.cli.main"]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "COE_DATA_DIR": str(Path(tmp) / "data"), "HF_HUB_OFFLINE": "1"}
        subprocess.run([*coe, "ingest"], env=env, check=True, capture_output=True)
        question = [*coe, "ask", "Who signs off a high-risk launch?"]
        runs: dict[str, list[float]] = {
            "ask_onnx": [],
            "ask_torch": [],
            "import_st": [],
            "help": [],
        }
        for _ in range(args.rounds):
            runs["ask_onnx"].append(_timed(question, {**env, "COE_EMBEDDING_BACKEND": "onnx"}))
            runs["ask_torch"].append(_timed(question, {**env, "COE_EMBEDDING_BACKEND": "torch"}))
            runs["import_st"].append(
                _timed([sys.executable, "-c", "import sentence_transformers"], env)
            )
            runs["help"].append(_timed([*coe, "--help"], env))
    medians = {f"{k}_s": round(statistics.median(v), 2) for k, v in runs.items()}
    medians["ask_onnx_vs_import_st"] = round(medians["ask_onnx_s"] / medians["import_st_s"], 2)
    print(json.dumps({"rounds": args.rounds, **medians}))


if __name__ == "__main__":
    main()
