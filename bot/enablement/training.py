"""Training sessions, read from the tables of training documents
(| Date | Session | Audience | Materials |)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel

from ingest.index_store import STAFF_AUDIENCE, KnowledgeIndex

_COLUMNS = ("date", "session", "audience", "materials")


class TrainingSession(BaseModel):
    day: date
    title: str
    audience: str
    materials: str | None
    source_title: str


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_sessions(markdown: str, source_title: str) -> list[TrainingSession]:
    sessions: list[TrainingSession] = []
    header: list[str] | None = None
    for line in markdown.splitlines():
        if not line.strip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        lowered = [c.lower() for c in cells]
        if all(name in lowered for name in _COLUMNS):
            header = lowered
            continue
        if header is None or re.fullmatch(r"[\s:|-]+", line.strip()):
            continue
        row = dict(zip(header, cells, strict=False))
        try:
            day = date.fromisoformat(row.get("date", ""))
        except ValueError:
            continue
        materials = row.get("materials") or None
        if materials and not materials.startswith(("http://", "https://")):
            materials = None
        sessions.append(
            TrainingSession(
                day=day,
                title=row.get("session", ""),
                audience=row.get("audience", ""),
                materials=materials,
                source_title=source_title,
            )
        )
    return sessions


def upcoming_sessions(
    index: KnowledgeIndex, today: date, staff: bool = False, limit: int = 10
) -> list[TrainingSession]:
    found: list[TrainingSession] = []
    for entry in index.manifest.files.values():
        if entry.doc_type != "training" or (entry.audience == STAFF_AUDIENCE and not staff):
            continue
        text = entry.text
        if text is None:  # ingested before the text was kept
            try:
                text = Path(entry.path).read_text(encoding="utf-8")
            except OSError:
                continue  # moved since the last ingest; the next ingest notices
        found.extend(s for s in parse_sessions(text, entry.title) if s.day >= today)
    return sorted(found, key=lambda s: (s.day, s.title))[:limit]
