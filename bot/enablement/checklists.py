"""Finding the checklists the knowledge base holds (parsed at ingest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.checklists import Checklist
from ingest.index_store import STAFF_AUDIENCE, KnowledgeIndex


@dataclass(frozen=True)
class ChecklistDoc:
    doc_id: str
    title: str
    source: str
    url: str | None
    owner: str | None
    checklist: Checklist


def list_checklists(index: KnowledgeIndex, staff: bool) -> list[ChecklistDoc]:
    found = [
        ChecklistDoc(
            doc_id=entry.doc_id,
            title=entry.title,
            source=entry.source or entry.doc_id,
            url=entry.source if entry.source.startswith(("http://", "https://")) else None,
            owner=entry.owner,
            checklist=entry.checklist,
        )
        for entry in index.manifest.files.values()
        if entry.checklist is not None and (staff or entry.audience != STAFF_AUDIENCE)
    ]
    return sorted(found, key=lambda c: c.title.lower())


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in {"checklist", "the", "a"}}


def find_checklist(index: KnowledgeIndex, name: str, staff: bool) -> ChecklistDoc | None:
    """The checklist whose title or file name shares the most words with `name`."""
    wanted = _words(name)
    if not wanted:
        return None
    best: tuple[float, ChecklistDoc] | None = None
    for candidate in list_checklists(index, staff):
        have = _words(candidate.title) | _words(candidate.doc_id)
        score = len(wanted & have) / len(wanted)
        if score > 0 and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best and best[0] >= 0.5 else None
