"""Two `coe serve` replicas on one PostgreSQL database and one Chroma server, each with an
empty data directory, under a burst of signed Slack events sent to both in turn.

Reports acknowledgement p50/p95, that every event is answered once (none lost, none doubled),
and how long a generation published by an ingest job takes to reach both replicas.

    python -m benchmarks.bench_replicas --events 500 --concurrency 20

Needs PostgreSQL at COE_BENCH_POSTGRES_URL (default postgresql://127.0.0.1:5432/test), where
it creates and drops a database of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

import psycopg

from benchmarks.bench_slack_burst import _finished, _free_port
from ingest import bundled_knowledge_dir
from tests.chroma_server import ChromaServer
from tests.slack_double import SlackDouble
from tests.slack_harness import SECRET

ADMIN = os.environ.get("COE_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


def _generation(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return None
    found = re.search(r"^coe_index_generation ([0-9.]+)$", text, re.M)
    return float(found.group(1)) if found else None


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "bot.cli.main", *args], env=env, check=True, capture_output=True
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None, help="COE_ANSWER_WORKERS")
    parser.add_argument("--publishes", type=int, default=3, help="new generations to time")
    args = parser.parse_args()
    name = f"coe_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    double = SlackDouble().start()
    servers: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        chroma = ChromaServer(root / "chroma", root / "chroma.log").start()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("COE_", "SLACK_"))},
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": double.url,
            "HF_HUB_OFFLINE": "1",
            "COE_DATABASE_URL": f"{ADMIN.rsplit('/', 1)[0]}/{name}",
            "COE_CHROMA_URL": chroma.url,
            "COE_RATE_LIMIT_PER_MINUTE": "1000",
        }
        if args.workers:
            env["COE_ANSWER_WORKERS"] = str(args.workers)
        try:
            _cli(env, "ingest", "--data-dir", str(root / "job"))
            ports = [_free_port(), _free_port()]
            started_at = time.monotonic()
            for n, port in enumerate(ports):
                command = [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port)]
                command += ["--host", "127.0.0.1", "--data-dir", str(root / f"replica{n}")]
                servers.append(
                    subprocess.Popen(
                        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                    )
                )
            for port in ports:
                while _generation(port) is None:
                    assert time.monotonic() - started_at < 300 and all(
                        s.poll() is None for s in servers
                    )
                    time.sleep(0.3)
            cold_start_s = time.monotonic() - started_at

            burst = ["--ports", ",".join(map(str, ports)), "--events", str(args.events)]
            burst += ["--concurrency", str(args.concurrency)]
            client = subprocess.run(
                [sys.executable, "-m", "benchmarks.burst_client", *burst],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            sent = json.loads(client.stdout)
            acks, began = sent["acks"], sent["started"]
            deadline = time.monotonic() + 1200
            while len(_finished(double)) < args.events and time.monotonic() < deadline:
                time.sleep(0.2)
            all_answered = time.time() - began
            time.sleep(2.0)  # anything duplicated would show up now
            threads = Counter(_finished(double))

            # New generations from an ingest job on "another machine": the time from the job's
            # end until both replicas answer from it (sync every COE_INDEX_SYNC_S, then a copy).
            knowledge = root / "elsewhere" / bundled_knowledge_dir().name
            shutil.copytree(bundled_knowledge_dir(), knowledge)
            switches: list[float] = []
            for n in range(args.publishes):
                note = knowledge / f"bench-note-{n}.md"
                note.write_text(f"# Bench note {n}\n\nThe bench room for round {n} is 4.1{n}.\n")
                _cli(env, "ingest", "--data-dir", str(root / "job2"), str(knowledge))
                published = time.monotonic()
                while any(_generation(p) != 2 + n for p in ports):
                    assert time.monotonic() - published < 120
                    time.sleep(0.1)
                switches.append(time.monotonic() - published)
        finally:
            for server in servers:
                server.terminate()
            for server in servers:
                server.wait(timeout=40)
            chroma.stop()
            double.stop()
            with psycopg.connect(ADMIN, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    expected = {f"1800000000.{n:06d}" for n in range(args.events)}
    print(
        json.dumps(
            {
                "replicas": 2,
                "events": args.events,
                "concurrency": args.concurrency,
                "cold_start_both_s": round(cold_start_s, 1),
                "ack_p50_ms": round(statistics.median(acks), 1),
                "ack_p95_ms": round(statistics.quantiles(acks, n=100)[94], 1),
                "ack_max_ms": round(max(acks), 1),
                "all_answered_s": round(all_answered, 1),
                "answered": len(expected & set(threads)),
                "lost": len(expected - set(threads)),
                "duplicates": sum(n - 1 for n in threads.values() if n > 1),
                "answer_workers": args.workers or 4,
                "new_generation_on_both_s": [round(x, 1) for x in switches],
            }
        )
    )


if __name__ == "__main__":
    main()
