"""The status of a consultation request, in a module of its own: `coe requests` needs it to
declare its options, and importing it must not load pydantic (every `coe --help` would pay)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in-progress"
    WAITING = "waiting-on-requester"
    RESOLVED = "resolved"
    DECLINED = "declined"

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").capitalize()

    @property
    def closed(self) -> bool:
        return self in (Status.RESOLVED, Status.DECLINED)
