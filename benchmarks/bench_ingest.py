"""Ingest throughput (chunks/s) and the no-op re-ingest of 1,000 files, with a plain
llama-index ingestion of the same files as the yardstick, in the same run.

python -m benchmarks.bench_ingest [--files 1000] [--baseline | --no-baseline]

In process: a full ingest (model load included, imports not) and a no-op re-ingest; then
the no-op re-ingest as a whole `coe ingest` command. That command is not quite a no-op here:
run_ingest alone leaves out the quote vectors and calibration, so the command adds them.

End to end, each side a fresh process timed from outside (imports, model load and all), one
after the other, never at once, on the same generated files:

- ours: `coe ingest DOCS --data-dir FRESH`, the whole command as an operator runs it. Besides
  reading, chunking, embedding (ONNX Runtime, the default backend) and writing the index
  generation, it also embeds the generation's quotable pieces and, with COE_AUTO_CALIBRATE
  on (the default), fits the answer rule to the new index. The baseline does neither, so this
  side does more work; it is measured as shipped.
- baseline (benchmarks.llama_baseline): SimpleDirectoryReader(recursive=True), then an
  IngestionPipeline of SentenceSplitter() and HuggingFaceEmbedding on the same packaged
  all-MiniLM-L6-v2 (sentence-transformers on torch, CPU), llama-index defaults otherwise:
  nodes with embeddings in memory, nothing stored.

Each side chunks in its own way, so each is credited with the chunks it made. Before the
timed runs, each side's code has been read once (the no-op command; an untimed import for
the baseline), so neither pays for a cold disk cache that the other does not.

The baseline needs the `bench` extra (pip install -e '.[bench]', which `make bench` does);
without it, it is skipped and the output says so.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

from benchmarks.corpus import write_corpus
from ingest.pipeline import run_ingest

BASELINE_PACKAGE = "llama-index-embeddings-huggingface"
# As measured inside the baseline's process, from its module's first line.
BASELINE_PHASES = ("imports_s", "read_s", "model_load_s", "split_and_embed_s")


def _baseline_version() -> str | None:
    try:
        return metadata.version(BASELINE_PACKAGE)
    except metadata.PackageNotFoundError:
        return None


def _peak_rss_mb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:  # already gone
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return None


def _timed_process(command: list[str], env: dict[str, str], logs: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and standard output of one child process.

    The peak is the child's own high-water mark, sampled while it runs: Linux carries the
    parent's RSS at fork into a child's ru_maxrss, and this parent holds the model by then.
    """
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logs / "stdout", logs / "stderr"
    peak = 0
    finished = threading.Event()

    def sample(pid: int) -> None:
        nonlocal peak
        while not finished.wait(0.1):
            peak = max(peak, _peak_rss_mb(pid) or 0)

    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=out, stderr=err)
        sampler = threading.Thread(target=sample, args=(child.pid,), daemon=True)
        sampler.start()
        child.wait()
        seconds = time.perf_counter() - started
        finished.set()
        sampler.join()
    if child.returncode != 0:
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{' '.join(command)} exited {child.returncode}:\n{tail}")
    return seconds, peak, out_path.read_text(encoding="utf-8")


def _end_to_end(docs: Path, work: Path, env: dict[str, str], baseline: bool) -> dict:
    fresh = work / "data-command"
    ours_seconds, rss, _ = _timed_process(
        [sys.executable, "-m", "bot.cli.main", "ingest", str(docs), "--data-dir", str(fresh)],
        env,
        work / "logs-command",
    )
    # The command's own summary is styled console text; asking the index it left is sturdier.
    check = run_ingest([docs], fresh, 10_000_000)
    assert check.chunks_embedded == 0 and not check.failed, "the command left work undone"
    ours = {
        "chunks": check.chunks_total,
        "seconds": round(ours_seconds, 1),
        "chunks_per_s": round(check.chunks_total / ours_seconds, 1),
        "peak_rss_mb": rss,
    }
    result: dict = {"command_end_to_end": ours}
    if not baseline:
        return result

    # Untimed: brings torch and llama-index into the disk cache, as the no-op command did
    # for our side.
    _timed_process(
        [
            sys.executable,
            "-c",
            "import llama_index.core.ingestion, llama_index.embeddings.huggingface",
        ],
        env,
        work / "logs-warmup",
    )
    seconds, rss, stdout = _timed_process(
        [sys.executable, "-m", "benchmarks.llama_baseline", str(docs)],
        env,
        work / "logs-baseline",
    )
    inside = json.loads(stdout.strip().splitlines()[-1])
    theirs = {
        "what": (
            f"llama-index-core {metadata.version('llama-index-core')}, "
            f"{BASELINE_PACKAGE} {_baseline_version()}: "
            "IngestionPipeline(SentenceSplitter(), HuggingFaceEmbedding(cpu))"
        ),
        "chunks": inside["chunks"],
        "seconds": round(seconds, 1),
        "chunks_per_s": round(inside["chunks"] / seconds, 1),
        "peak_rss_mb": rss,
        "phases_s": {k: inside[k] for k in BASELINE_PHASES},
    }
    result["baseline_end_to_end"] = theirs
    ratio = (check.chunks_total / ours_seconds) / (inside["chunks"] / seconds)
    result["ours_vs_baseline_chunks_per_s"] = round(ratio, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument(
        "--baseline",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"also time a plain llama-index ingestion (default: when {BASELINE_PACKAGE} is installed)",
    )
    args = parser.parse_args()
    installed = _baseline_version() is not None
    if args.baseline and not installed:
        parser.error(f"--baseline needs {BASELINE_PACKAGE}: pip install -e '.[bench]'")
    baseline = installed if args.baseline is None else args.baseline
    skipped = None
    if not baseline:
        skipped = (
            "skipped: --no-baseline"
            if installed
            else f"skipped: {BASELINE_PACKAGE} is not installed (pip install -e '.[bench]')"
        )
        print(f"llama-index baseline {skipped}", file=sys.stderr)

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

        offline = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        offline.pop("COE_DATA_DIR", None)
        end_to_end = _end_to_end(docs, Path(tmp), offline, baseline)
    if skipped:
        end_to_end["baseline_end_to_end"] = skipped
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
                **end_to_end,
            }
        )
    )


if __name__ == "__main__":
    main()
