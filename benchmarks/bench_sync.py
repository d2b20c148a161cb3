"""Sync time for 1,000 pages from a connector's local double: the first sync (list, fetch,
convert, embed, write), a no-op sync (list only) and a sync after 10 pages were edited.

python -m benchmarks.bench_sync [--pages 1000] [--only confluence|notion|gdrive]

The doubles (tests/*_double.py) answer on 127.0.0.1 with no latency and no rate limit, so
this measures our side: the listing, the conversion, embedding and index writes. A real
service adds its round trips (Notion allows ~3 requests a second; a listing of 1,000 pages
is 20 requests on Confluence, 10 on Notion's database query).

Pages are ~120-word paragraphs of sentences from the bundled knowledge base, two per page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus import sentence_pool
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources.base import Source


def _paragraphs(rng: random.Random, pool: list[str], count: int) -> list[str]:
    out = []
    for _ in range(count):
        words: list[str] = []
        while len(words) < 120:
            words.extend(rng.choice(pool).split())
        out.append(" ".join(words))
    return out


@dataclass
class Site:
    source: Source
    entry: dict  # the source's sources.yaml entry
    env: dict[str, str]  # the secrets it names
    edit: Callable[[int], None]  # edits the n-th page
    requests: Callable[[], int]  # requests served so far
    content_requests: Callable[[], int]  # requests that fetched a page's content
    stop: Callable[[], None]


def confluence(pages: int, rng: random.Random, pool: list[str]) -> Site:
    from ingest.sources.confluence import ConfluenceConfig, ConfluenceSource
    from tests.confluence_double import TOKEN, USERNAME, ConfluenceDouble

    double = ConfluenceDouble().start()
    double.add_space("KB", "Knowledge base")
    ids = [
        double.add_page(
            "KB",
            f"Page {n}",
            "".join(f"<p>{p}</p>" for p in _paragraphs(rng, pool, 2)),
        )
        for n in range(pages)
    ]
    config = ConfluenceConfig(
        type="confluence",
        name="wiki",
        url=double.url,
        spaces=["KB"],
        username=USERNAME,
        token_env="TOKEN",
    )
    return Site(
        ConfluenceSource(config, {"TOKEN": TOKEN}),
        config.model_dump(exclude_none=True),
        {"TOKEN": TOKEN},
        lambda n: double.edit(ids[n], f"<p>{_paragraphs(rng, pool, 1)[0]}</p>"),
        lambda: len(double.requests),
        lambda: len(double.body_requests()),
        double.stop,
    )


def notion(pages: int, rng: random.Random, pool: list[str]) -> Site:
    from ingest.sources.notion import NotionConfig, NotionSource
    from tests.notion_double import NotionDouble, paragraph

    double = NotionDouble()
    double.start()
    database = double.add_database("Knowledge base")
    ids = [
        double.add_page(
            f"Page {n}",
            [paragraph(p) for p in _paragraphs(rng, pool, 2)],
            database=database,
        )
        for n in range(pages)
    ]
    config = NotionConfig(type="notion", name="notion", database=database, api_url=double.url)
    return Site(
        NotionSource(config, {"NOTION_TOKEN": double.token}),
        config.model_dump(exclude_none=True),
        {"NOTION_TOKEN": double.token},
        lambda n: double.edit(ids[n], [paragraph(_paragraphs(rng, pool, 1)[0])]),
        lambda: len(double.requests),
        lambda: sum(1 for r in double.requests if "/blocks/" in r.path),
        double.stop,
    )


def gdrive(pages: int, rng: random.Random, pool: list[str]) -> Site:
    from ingest.sources.gdrive import GDriveConfig, GDriveSource
    from tests.gdrive_double import DriveDouble

    double = DriveDouble("acme.com").start()
    key = double.key_file(Path(tempfile.mkdtemp()) / "key.json")
    folder = double.add_folder("Knowledge base")
    ids = [
        double.add_doc(
            f"Page {n}", "".join(f"<p>{p}</p>" for p in _paragraphs(rng, pool, 2)), folder
        )
        for n in range(pages)
    ]
    config = GDriveConfig(
        type="gdrive", name="drive", folder_id=folder, domain="acme.com", api_url=double.url
    )
    return Site(
        GDriveSource(config, {"GOOGLE_APPLICATION_CREDENTIALS": str(key)}),
        config.model_dump(exclude_none=True),
        {"GOOGLE_APPLICATION_CREDENTIALS": str(key)},
        lambda n: double.edit(ids[n], f"<p>{_paragraphs(rng, pool, 1)[0]}</p>"),
        lambda: len(double.log),
        lambda: len(double.requests("export", "media")),
        double.stop,
    )


SITES = {"confluence": confluence, "gdrive": gdrive, "notion": notion}


def _timed(data: Path, source: Source) -> tuple[float, IngestReport]:
    started = time.perf_counter()
    report = run_ingest([], data, 10_000_000, sources=[source])
    return time.perf_counter() - started, report


def _command(folder: Path, site: Site) -> float:
    """`coe sources sync` as an operator runs it, in a fresh process: imports, model load, the
    quote vectors and the answer rule fitted to the new index included."""
    sources = Path(folder) / "sources.yaml"
    sources.write_text(json.dumps({"sources": [site.entry]}, default=str), encoding="utf-8")
    env = {**os.environ, **site.env, "COE_SOURCES_FILE": str(sources), "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli.main", "sources", "sync", "--data-dir",
         str(Path(folder) / "command-data")],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    return round(time.perf_counter() - started, 2)


def measure(kind: str, pages: int) -> dict:
    rng = random.Random(11)
    site = SITES[kind](pages, rng, sentence_pool())
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "data"
            rows = {}
            for step in ("first", "no-op", "10 edited"):
                if step == "10 edited":
                    for n in range(0, pages, max(1, pages // 10))[:10]:
                        site.edit(n)
                before, fetched = site.requests(), site.content_requests()
                seconds, report = _timed(data, site.source)
                assert not report.failed and not report.failed_sources, report.summary()
                rows[step] = {
                    "seconds": round(seconds, 2),
                    "requests": site.requests() - before,
                    "content_requests": site.content_requests() - fetched,
                    "chunks_embedded": report.chunks_embedded,
                    "summary": report.summary(),
                }
            commands = {
                "first": _command(Path(folder), site),
                "no-op": _command(Path(folder), site),
            }
            return {"connector": kind, "pages": pages, **rows, "command": commands}
    finally:
        site.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--only", choices=sorted(SITES))
    args = parser.parse_args()
    for kind in [args.only] if args.only else sorted(SITES):
        print(json.dumps(measure(kind, args.pages)), flush=True)


if __name__ == "__main__":
    main()
