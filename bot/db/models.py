"""Database tables. Slack ids are stored, never tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class AnswerRecord(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    surface: Mapped[str] = mapped_column(String(20))  # mention, thread, dm, assistant, command…
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    abstained: Mapped[bool] = mapped_column(Boolean, default=False)
    failed: Mapped[bool] = mapped_column(Boolean, default=False)
    source_doc_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    workshop_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    # With a model configured: bot.answering.models.Written (model, tokens, timings, dropped
    # sentences and why, fallback reason), for audits and usage reports.
    written: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )

    __table_args__ = (Index("ix_answers_thread", "channel_id", "thread_ts"),)


class FeedbackRecord(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[int | None] = mapped_column(
        ForeignKey("answers.id"), nullable=True, index=True
    )
    user_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(16))  # positive | negative
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConsultationRequest(Base):
    """A request for help from the CoE. `number` is shown as CR-0042."""

    __tablename__ = "consultation_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_key: Mapped[str] = mapped_column(String(120), unique=True)
    requester_id: Mapped[str] = mapped_column(String(32), index=True)
    team: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str | None] = mapped_column(String(8), nullable=True)
    title: Mapped[str] = mapped_column(String(150))
    description: Mapped[str] = mapped_column(Text)
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(30), index=True, default="new")
    assignee_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    posted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    post_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    triage_channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    triage_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sla_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def public_id(self) -> str:
        return f"CR-{self.id:04d}"


class RequestEvent(Base):
    """Append-only history: every change to a request, who made it and when."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("consultation_requests.id"), index=True)
    actor_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(20))  # created, assigned, status, priority, note, …
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Workshop(Base):
    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(150))
    trainer_id: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ChecklistRun(Base):
    """A checklist worked through in one channel, pinned to the version it started from."""

    __tablename__ = "checklist_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(32), index=True)
    doc_id: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(32))
    sections: Mapped[list] = mapped_column(JSON)  # [{"title": …, "items": […]}] as started
    started_by: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("consultation_requests.id"), nullable=True
    )


class ChecklistTick(Base):
    """Append-only: who ticked or unticked which item, and when."""

    __tablename__ = "checklist_ticks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("checklist_runs.id"), index=True)
    item_key: Mapped[str] = mapped_column(String(20))  # "section.item"
    checked: Mapped[bool] = mapped_column(Boolean)
    user_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QuestionJob(Base):
    """A question received from Slack, from receipt until its answer is posted.

    received → answering (leased) → answered (reply queued in the outbox) → posted | failed.
    The row is written before Slack gets its 200, so a crash, a restart or a second replica
    can always finish the work: an expired lease is taken over, never answered twice.
    """

    __tablename__ = "question_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # msg:<channel>:<ts>, …
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    surface: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    response_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="received")
    lease_owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The message a written answer is streaming into, so that a retry after a crash can
    # close it before answering again.
    stream_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """One Slack message to deliver exactly once: answers, triage cards, DMs, notes.

    pending → sending (leased) → sent | failed. `uncertain` marks a try that may have reached
    Slack (a timeout, a dropped connection, a 5xx): before trying again the deliverer looks for
    the message's key in the conversation, so a slow Slack never gets a second copy.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # who to tell
    subject_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # e.g. a request
    reference: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: forever
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    posted_channel_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_outbox_due", "state", "next_attempt_at"),)


class RateWindow(Base):
    """Questions one person asked in one fixed window: shared by every replica."""

    __tablename__ = "rate_windows"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds // window
    count: Mapped[int] = mapped_column(Integer, default=0)


class IndexGeneration(Base):
    """A published index generation, shared by every replica (COE_CHROMA_URL set).

    A row appears only once its chunks and files are stored, in the same transaction: a
    killed ingest publishes nothing. The highest number is the current generation.
    """

    __tablename__ = "index_generations"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    manifest: Mapped[str] = mapped_column(Text)  # ingest.records.Manifest as JSON
    chunk_count: Mapped[int] = mapped_column(Integer)
    embedding_model: Mapped[str] = mapped_column(String(200))
    published_by: Mapped[str] = mapped_column(String(80))
    published_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IndexChunk(Base):
    """One passage of a generation, in search order; its vector lives in Chroma by `chunk_id`."""

    __tablename__ = "index_chunks"

    generation: Mapped[int] = mapped_column(
        ForeignKey("index_generations.number", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    chunk_id: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)  # ingest.records.ChunkRecord as JSON


class IndexFile(Base):
    """A file a generation carries besides its chunks (calibration, quote vectors)."""

    __tablename__ = "index_files"

    generation: Mapped[int] = mapped_column(
        ForeignKey("index_generations.number", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class JobClaim(Base):
    """Who runs a named job (ingest, retention purge, …) and until when: one holder at a
    time across every replica and machine."""

    __tablename__ = "job_claims"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DocumentReview(Base):
    """An owner's word on a document, kept here because the source may be read-only: when it
    was last verified, until when that holds, or why it needs an update."""

    __tablename__ = "document_reviews"

    doc_key: Mapped[str] = mapped_column(String(512), primary_key=True)  # the manifest key
    status: Mapped[str] = mapped_column(String(16))  # accurate | needs-update | not-mine
    review_by: Mapped[date | None] = mapped_column(Date, nullable=True)  # extended date
    verified_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
