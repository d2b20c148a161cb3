"""An ingest killed half-way (SIGKILL, no clean-up) leaves the previous index fully usable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, doc


def _coe(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_killed_ingest_keeps_the_previous_index(write, tmp_path):
    env = {**os.environ, "COE_DATA_DIR": str(tmp_path / "data")}
    write("keep.md", doc("Keeper", "The lighthouse procedure is owned by the harbour team."))
    first = _coe("ingest", str(write.root), env=env)
    assert first.returncode == 0, first.stderr

    # Enough new text that embedding takes seconds, so the kill lands in the middle of it.
    for n in range(60):
        paragraphs = "\n\n".join(
            f"## Part {p}\n\nFiller topic {n}-{p} covers tide tables, buoy colours and the "
            f"rules of the harbour for boats number {n * 100 + p} in considerable detail. " * 3
            for p in range(6)
        )
        write(f"bulk-{n:02}.md", doc(f"Bulk {n}", paragraphs))
    write("keep.md", doc("Keeper", "The lighthouse procedure moved to the coast guard."))

    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "ingest", str(write.root)],
        env=env,
        cwd=REPO,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 120
    for line in process.stderr:
        if line.startswith("[ingest] embedded "):
            break  # at least one batch is in the vector store: kill in the middle of the run
        assert time.monotonic() < deadline
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    asked = _coe("ask", "Who owns the lighthouse procedure?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["abstained"]
    assert "harbour team" in answer["answer"]  # the old version, whole
    searched = _coe("search", "tide tables buoy colours", "--json", env=env)
    assert all(not hit["doc_id"].startswith("bulk-") for hit in json.loads(searched.stdout))

    # The next run finishes the job and reuses what the killed run had embedded.
    rerun = _coe("ingest", str(write.root), env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert "61 added" not in rerun.stderr and "60 added, 1 updated" in rerun.stderr
    embedded = int(rerun.stderr.split(" chunks embedded")[0].rsplit("(", 1)[1])
    total = int(rerun.stderr.split("index holds ")[1].split(" ")[0])
    assert embedded < total - 1
    asked = _coe("ask", "Who owns the lighthouse procedure?", "--json", env=env)
    assert "coast guard" in json.loads(asked.stdout)["answer"]
