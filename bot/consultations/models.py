"""The vocabulary of consultation requests and the validated intake form."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Defined apart so the CLI can declare options without loading pydantic; still importable
# from here, with the rest of the vocabulary.
from bot.consultations.status import Status


class RequestType(StrEnum):
    ARCHITECTURE = "architecture-review"
    SAFETY = "safety-review"
    EVALUATION = "evaluation-design"
    VENDOR = "vendor-selection"
    LAUNCH = "launch-readiness"
    TRAINING = "training"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "architecture-review": "Architecture review",
            "safety-review": "Safety / responsible-AI review",
            "evaluation-design": "Evaluation design",
            "vendor-selection": "Vendor or model selection",
            "launch-readiness": "Launch readiness",
            "training": "Training",
            "other": "Other",
        }[self.value]


class Urgency(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


TITLE_MAX = 150
DESCRIPTION_MAX = 3000
TEAM_MAX = 80
LINKS_MAX = 5


class IntakeForm(BaseModel):
    """What a requester fills in; every limit has a message the modal shows on the field."""

    model_config = ConfigDict(str_strip_whitespace=True)

    title: str = Field(min_length=5, max_length=TITLE_MAX)
    team: str = Field(min_length=2, max_length=TEAM_MAX)
    type: RequestType
    urgency: Urgency = Urgency.NORMAL
    description: str = Field(min_length=10, max_length=DESCRIPTION_MAX)
    links: list[str] = Field(default_factory=list, max_length=LINKS_MAX)

    @field_validator("links", mode="before")
    @classmethod
    def _split_links(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.split() if part]
        return value or []

    @field_validator("links")
    @classmethod
    def _web_links(cls, value: list[str]) -> list[str]:
        for link in value:
            if not link.startswith(("https://", "http://")) or "|" in link or ">" in link:
                raise ValueError(f"“{link[:60]}” is not a web link (start it with https://)")
        return value


class RequestContext(BaseModel):
    """Where the request came from: an answer the bot gave, or a Slack message."""

    question: str | None = None
    answer: str | None = None
    sources: list[str] = Field(default_factory=list)
    permalink: str | None = None
    answer_reference: str | None = None


class HistoryEntry(BaseModel):
    actor_id: str
    kind: str
    detail: dict
    at: datetime


class RequestView(BaseModel):
    """A request as every surface shows it."""

    id: int
    public_id: str
    requester_id: str
    team: str
    type: RequestType
    urgency: Urgency
    priority: Priority | None
    title: str
    description: str
    links: list[str]
    context: RequestContext
    status: Status
    assignee_id: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    posted: bool
    post_error: str | None
    triage_channel_id: str | None
    triage_ts: str | None
    overdue: bool = False
    history: list[HistoryEntry] = Field(default_factory=list)
