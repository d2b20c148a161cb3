"""Checklists are documents whose `- [ ]` lines are items, grouped under their headings."""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, Field

_ITEM = re.compile(r"^\s*[-*+]\s+\[[ xX]\]\s+(.+?)\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


class ChecklistSection(BaseModel):
    title: str
    items: list[str] = Field(default_factory=list)


class Checklist(BaseModel):
    sections: list[ChecklistSection]
    version: str  # content hash of the items: a run can tell when its document has changed

    @property
    def item_count(self) -> int:
        return sum(len(s.items) for s in self.sections)


def parse_checklist(body: str, title: str) -> Checklist | None:
    sections: list[ChecklistSection] = []
    current = ChecklistSection(title=title)
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            if current.items:
                sections.append(current)
            current = ChecklistSection(title=heading.group(2).strip())
            continue
        item = _ITEM.match(line)
        if item:
            current.items.append(item.group(1))
    if current.items:
        sections.append(current)
    if not sections:
        return None
    digest = hashlib.sha256()
    for section in sections:
        digest.update(section.title.encode())
        for entry in section.items:
            digest.update(b"\x00" + entry.encode())
    return Checklist(sections=sections, version=digest.hexdigest()[:12])
