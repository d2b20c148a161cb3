"""A burst of signed Slack events at a running `coe serve` (HTTP mode, its own process).

Reports acknowledgement latency p50/p95 and the time until every answer is posted to the
Slack Web API double, checking that none is lost or duplicated.

    python -m benchmarks.bench_slack_burst --events 200 --concurrency 20
    python -m benchmarks.bench_slack_burst --events 200 --concurrency 20 --llm

With `--llm` a local OpenAI-compatible double writes the answers (300 ms to the first token,
then 12 characters every 15 ms), and they stream into their threads.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.evaluation.golden import load_golden
from tests.slack_double import SlackDouble
from tests.slack_harness import SECRET, mention

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _signed(port: int, event: dict, event_id: str) -> float:
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event": event,
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
        }
    )
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=timestamp, body=body)
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/slack/events",
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        },
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    return (time.perf_counter() - started) * 1000


def burst_events(count: int, ts_prefix: str = "1800000000") -> list[dict]:
    """`count` mentions asking the golden questions in turn, each from another person."""
    questions = [q.question for q in load_golden().questions]
    return [
        mention(questions[n % len(questions)], ts=f"{ts_prefix}.{n:06d}", user=f"UB{n:04d}")
        for n in range(count)
    ]


def _finished(double: SlackDouble) -> list[str]:
    """The thread of every finished answer: posted whole, or streamed and then stopped."""
    return [
        str(m.get("thread_ts"))
        for m in double.messages()
        if m.get("thread_ts") and not m.get("streaming")
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--llm", action="store_true", help="answers written by a model double")
    args = parser.parse_args()
    double = SlackDouble().start()
    llm = None
    if args.llm:
        from benchmarks.bench_written import three_cited_lines
        from tests.llm_double import LLMDouble

        llm = LLMDouble()
        llm.default = three_cited_lines(0.3, 0.015)
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": double.url,
            "COE_DATA_DIR": str(Path(tmp) / "data"),
            "HF_HUB_OFFLINE": "1",
        }
        if llm is not None:
            env.update(COE_LLM_BASE_URL=llm.base_url, COE_LLM_MODEL="bench")
        subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "ingest"],
            env=env,
            check=True,
            capture_output=True,
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.cli.main",
                "serve",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except OSError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.3)
            events = burst_events(args.events)
            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                acks = list(
                    pool.map(lambda p: _signed(port, p[1], f"EvB{p[0]:06d}"), enumerate(events))
                )
            deadline = time.monotonic() + 900
            while len(_finished(double)) < args.events and time.monotonic() < deadline:
                time.sleep(0.1)
            all_answered = time.perf_counter() - started
            time.sleep(1.0)  # anything duplicated would show up now
        finally:
            server.terminate()
            server.wait(timeout=30)
            double.stop()
            if llm is not None:
                llm.close()
    threads = Counter(_finished(double))
    print(
        json.dumps(
            {
                "events": args.events,
                "concurrency": args.concurrency,
                "ack_p50_ms": round(statistics.median(acks), 1),
                "ack_p95_ms": round(statistics.quantiles(acks, n=100)[94], 1),
                "ack_max_ms": round(max(acks), 1),
                "all_answered_s": round(all_answered, 1),
                "answers_posted": sum(threads.values()),
                "distinct_threads_answered": len(threads),
                "duplicates": sum(n - 1 for n in threads.values() if n > 1),
                "streamed": len(double.of("chat.stopStream")),
                "model_requests": len(llm.chat_requests()) if llm is not None else 0,
            }
        )
    )


if __name__ == "__main__":
    main()
