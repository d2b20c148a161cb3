"""Cold start: one `coe ask` in a fresh interpreter against `import sentence_transformers`
alone, in the same run (issue 12's yardstick), plus `coe --help`, `coe requests --help`, and
how long `coe serve` takes from launch until `/readyz` says it can answer (index loaded, the
model embedding), on each embedding backend.

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
import urllib.error
import urllib.request
from pathlib import Path

from tests.serve_process import ServeProcess
from tests.slack_double import SlackDouble


def _timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _serve_ready(data: Path, backend: str, slack_url: str) -> float:
    """Seconds from launching `coe serve` until /readyz answers 200."""
    server = ServeProcess(api_url=slack_url, data_dir=data, env={"COE_EMBEDDING_BACKEND": backend})
    started = time.perf_counter()
    try:
        server.start()  # returns once /healthz answers
        while True:
            try:
                with urllib.request.urlopen(f"{server.url}/readyz", timeout=5) as reply:
                    if reply.status == 200:
                        return time.perf_counter() - started
            except urllib.error.HTTPError:
                pass  # 503: still loading
            time.sleep(0.05)
    finally:
        server.close()


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
            "requests_help": [],
            "serve_ready_onnx": [],
            "serve_ready_torch": [],
        }
        slack = SlackDouble().start()
        for _ in range(args.rounds):
            runs["ask_onnx"].append(_timed(question, {**env, "COE_EMBEDDING_BACKEND": "onnx"}))
            runs["ask_torch"].append(_timed(question, {**env, "COE_EMBEDDING_BACKEND": "torch"}))
            runs["import_st"].append(
                _timed([sys.executable, "-c", "import sentence_transformers"], env)
            )
            runs["help"].append(_timed([*coe, "--help"], env))
            runs["requests_help"].append(_timed([*coe, "requests", "--help"], env))
            data = Path(env["COE_DATA_DIR"])
            runs["serve_ready_onnx"].append(_serve_ready(data, "onnx", slack.url))
            runs["serve_ready_torch"].append(_serve_ready(data, "torch", slack.url))
        slack.stop()
    medians = {f"{k}_s": round(statistics.median(v), 2) for k, v in runs.items()}
    medians["ask_onnx_vs_import_st"] = round(medians["ask_onnx_s"] / medians["import_st_s"], 2)
    print(json.dumps({"rounds": args.rounds, **medians}))


if __name__ == "__main__":
    main()
