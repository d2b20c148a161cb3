"""`coe serve` syncs the sources on a schedule (COE_SYNC_EVERY_MIN), once per period however
many replicas share the index (PostgreSQL and a Chroma server): the job is claimed in the
database, and every replica follows the generation the sync published."""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.request
from datetime import datetime
from pathlib import Path

from tests.conftest import doc, wait_until
from tests.git_repo import Repo
from tests.serve_process import ServeProcess

PERIOD_S = 3.0


def _events(server: ServeProcess, message: str) -> list[datetime]:
    found = []
    for line in server.log_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "bot.sources" and record["message"].startswith(message):
                found.append(datetime.fromisoformat(record["time"]))
    return found


def _finished(servers: list[ServeProcess]) -> list[str]:
    return [
        json.loads(line)["message"]
        for server in servers
        for line in server.log_text().splitlines()
        if line.startswith("{") and '"source sync finished' in line
    ]


def _generation(server: ServeProcess) -> float | None:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.search(r"^coe_index_generation ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else None


def test_two_replicas_sync_once_a_period_and_pick_up_a_new_commit(
    double, fresh_postgres, chroma, tmp_path: Path
):
    repo = Repo(tmp_path)
    repo.commit("first", {"rota.md": doc("Rota", "The rota changes every second Thursday.")})
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        json.dumps(
            {"sources": [{"name": "kb", "type": "git", "url": str(repo.bare), "public": True}]}
        ),
        encoding="utf-8",
    )
    env = {
        "COE_DATABASE_URL": fresh_postgres,
        "COE_CHROMA_URL": chroma.url,
        "COE_INDEX_SYNC_S": "1",
        "COE_SOURCES_FILE": str(sources),
        "COE_SYNC_EVERY_MIN": str(PERIOD_S / 60),
        "COE_LOG_FORMAT": "json",
        "COE_AUTO_CALIBRATE": "false",
    }
    servers = [
        ServeProcess(
            api_url=double.url,
            data_dir=tmp_path / f"data{n}",
            env=env,
            log_path=tmp_path / f"serve{n}.log",
        )
        for n in (1, 2)
    ]
    with servers[0], servers[1]:
        for server in servers:
            server.start()
        wait_until(lambda: len(_finished(servers)) >= 3, timeout=90)

        before = _generation(servers[0])
        repo.commit("rota moves", {"rota.md": doc("Rota", "The rota changes every Monday.")})
        wait_until(lambda: any("1 updated" in m for m in _finished(servers)), timeout=60)
        # Synced once, on one replica: both answer from what it published.
        wait_until(lambda: all(_generation(s) != before for s in servers), timeout=60)
        time.sleep(PERIOD_S)

    starts = sorted(t for server in servers for t in _events(server, "source sync started"))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    # Never two syncs in one period, whichever replica ran them.
    assert gaps and min(gaps) >= PERIOD_S * 0.9, gaps
