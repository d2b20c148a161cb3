"""Sends a burst of signed `app_mention` events from its own process and prints when it
started and each acknowledgement time (ms) as JSON: the Slack double answering the replicas must not
share a GIL with the clocks that time them.

    python -m benchmarks.burst_client --ports 3001,3002 --events 500 --concurrency 20
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks.bench_slack_burst import _signed, burst_events


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", required=True, help="comma separated; events go round-robin")
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--ts-prefix", default="1800000000")
    args = parser.parse_args()
    ports = [int(p) for p in args.ports.split(",")]
    events = burst_events(args.events, args.ts_prefix)
    started = time.time()
    with ThreadPoolExecutor(args.concurrency) as pool:
        acks = list(
            pool.map(
                lambda p: _signed(ports[p[0] % len(ports)], p[1], f"EvR{p[0]:06d}"),
                enumerate(events),
            )
        )
    print(json.dumps({"started": started, "acks": acks}))


if __name__ == "__main__":
    main()
