"""Owner verification (issue 14, first part): which documents are due for review, who owns
them, and an owner's word that a document is still accurate.

A document's review date comes from its file (`review_by`). An owner's "still accurate" is
kept in the database (`document_reviews`), because the source may be read-only (a wiki, a
repository the bot cannot push to): it moves the review date `review_every` days (front
matter; 180 by default) past the day of the verification. The later of the two dates holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.answering.models import Verification
from bot.db.models import AnswerRecord, DocumentReview, FeedbackRecord, utcnow
from bot.db.store import Store
from ingest.records import FileEntry

REVIEW_EVERY_DAYS = 180
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


class ReviewStatus(StrEnum):
    ACCURATE = "accurate"
    NEEDS_UPDATE = "needs-update"
    NOT_MINE = "not-mine"


@dataclass(frozen=True)
class Review:
    """What the database holds about one document."""

    status: ReviewStatus
    review_by: date | None
    verified_by: str | None
    verified_on: date | None
    note: str | None


@dataclass(frozen=True)
class DocumentState:
    key: str  # the manifest key
    title: str
    owner: str | None
    owner_slack: str | None  # from the front matter, else the owners file
    link: str
    review_by: date | None  # the later of the file's date and a verification's
    review: Review | None

    def due(self, today: date, notice_days: int = 0) -> bool:
        return self.review_by is not None and self.review_by - timedelta(notice_days) <= today


class OwnersFileError(Exception):
    """The owners file cannot be used; the message says where."""


def load_owners(path: Path | None) -> dict[str, str]:
    """`owners.yaml`: owner names or emails mapped to Slack user ids (case-insensitive keys)."""
    if path is None:
        return {}
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as error:
        raise OwnersFileError(f"cannot read {path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise OwnersFileError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise OwnersFileError(f"{path}: expected 'name or email: Slack user id' lines")
    owners: dict[str, str] = {}
    for name, user in raw.items():
        user_id = str(user).strip().lstrip("@")
        if not _SLACK_USER.match(user_id):
            raise OwnersFileError(f"{path}: '{name}: {user}' is not a Slack user id (U012AB3CD)")
        owners[str(name).strip().casefold()] = user_id
    return owners


def slack_user_of(entry: FileEntry, owners: Mapping[str, str]) -> str | None:
    """The owner's Slack id: the document's own `owner_slack`, else the owners file by the
    owner's name or by an email written in it."""
    if entry.owner_slack:
        return entry.owner_slack
    if not entry.owner:
        return None
    found = owners.get(entry.owner.strip().casefold())
    if found is None:
        email = _EMAIL.search(entry.owner)
        found = owners.get(email.group(0).casefold()) if email else None
    return found


def effective_review_by(entry: FileEntry, review: Review | None) -> date | None:
    dates = [d for d in (entry.review_by, review.review_by if review else None) if d]
    return max(dates) if dates else None


def document_states(
    entries: Mapping[str, FileEntry], reviews: Mapping[str, Review], owners: Mapping[str, str]
) -> list[DocumentState]:
    states = []
    for key, entry in sorted(entries.items()):
        review = reviews.get(key)
        states.append(
            DocumentState(
                key=key,
                title=entry.title,
                owner=entry.owner,
                owner_slack=slack_user_of(entry, owners),
                link=entry.source,
                review_by=effective_review_by(entry, review),
                review=review,
            )
        )
    return states


USAGE_DAYS = 90
NEAR_QUESTIONS = 3


@dataclass(frozen=True)
class Usage:
    """What a document did for people lately: the owner's reminder shows it."""

    cited: int = 0
    helpful: int = 0
    unhelpful: int = 0
    unanswered: tuple[str, ...] = ()  # declined questions whose nearest passages were in it


def document_usage(
    store: Store,
    doc_ids: set[str],
    nearest_docs: Callable[[str], list[str]],
    since: datetime,
) -> dict[str, Usage]:
    """For each document: answers that cited it since `since`, their feedback, and a few
    declined questions it came closest to answering (`nearest_docs(question)`: the documents
    of the question's best passages)."""
    with store.session() as session:
        answers = session.execute(
            select(
                AnswerRecord.id,
                AnswerRecord.question,
                AnswerRecord.abstained,
                AnswerRecord.source_doc_ids,
            ).where(AnswerRecord.created_at >= since, AnswerRecord.failed.is_(False))
        ).all()
        votes = session.execute(
            select(FeedbackRecord.answer_id, FeedbackRecord.value).where(
                FeedbackRecord.created_at >= since, FeedbackRecord.answer_id.is_not(None)
            )
        ).all()
    by_answer: dict[int, list[str]] = {}
    for voted_on, value in votes:
        if voted_on is not None:
            by_answer.setdefault(voted_on, []).append(value)
    cited = {d: [0, 0, 0] for d in doc_ids}
    near: dict[str, list[str]] = {d: [] for d in doc_ids}
    for answer_id, question, abstained, sources in answers:
        if abstained:
            for doc_id in set(nearest_docs(question)) & doc_ids:
                if len(near[doc_id]) < NEAR_QUESTIONS and question not in near[doc_id]:
                    near[doc_id].append(question)
            continue
        for doc_id in set(sources or []) & doc_ids:
            counts = cited[doc_id]
            counts[0] += 1
            counts[1] += by_answer.get(answer_id, []).count("positive")
            counts[2] += by_answer.get(answer_id, []).count("negative")
    return {d: Usage(cited[d][0], cited[d][1], cited[d][2], tuple(near[d])) for d in doc_ids}


class ReviewService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def reviews(self) -> dict[str, Review]:
        with self.store.session() as session:
            rows = session.execute(select(DocumentReview)).scalars().all()
            return {row.doc_key: _review(row) for row in rows}

    def verifications(self) -> dict[str, Verification]:
        """The documents an owner said are still accurate, by manifest key (for citations)."""
        return {
            key: Verification(r.review_by, r.verified_by, r.verified_on)
            for key, r in self.reviews().items()
            if r.status is ReviewStatus.ACCURATE and r.review_by and r.verified_by and r.verified_on
        }

    def verify(self, key: str, entry: FileEntry, by: str, today: date) -> Review:
        """Still accurate: the review date moves `review_every` days past today."""
        until = today + timedelta(days=entry.review_every or REVIEW_EVERY_DAYS)
        return self._record(key, ReviewStatus.ACCURATE, by, until, None)

    def needs_update(self, key: str, by: str, note: str) -> Review:
        return self._record(key, ReviewStatus.NEEDS_UPDATE, by, None, note)

    def not_mine(self, key: str, by: str) -> Review:
        return self._record(key, ReviewStatus.NOT_MINE, by, None, f"{by} says it is not theirs")

    def _record(
        self, key: str, status: ReviewStatus, by: str, until: date | None, note: str | None
    ) -> Review:
        now = utcnow()
        with self.store.session() as session:
            row = session.get(DocumentReview, key)
            if row is None:
                row = DocumentReview(doc_key=key, status=status.value)
                session.add(row)
            row.status = status.value
            row.note = note
            row.updated_at = now
            if status is ReviewStatus.ACCURATE:
                row.review_by, row.verified_by, row.verified_at = until, by, now
            session.flush()
            return _review(row)


def _review(row: DocumentReview) -> Review:
    return Review(
        status=ReviewStatus(row.status),
        review_by=row.review_by,
        verified_by=row.verified_by,
        verified_on=row.verified_at.date() if row.verified_at else None,
        note=row.note,
    )
