"""Workshops: a trainer opens one in a channel; questions there are tagged until it ends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.db.models import AnswerRecord, FeedbackRecord, Workshop
from bot.db.store import Store

NAME_MAX = 150


class WorkshopError(ValueError):
    pass


class WorkshopSummary(BaseModel):
    workshop_id: int
    name: str
    channel_id: str
    trainer_id: str
    questions: int
    answered: int
    abstained: int
    helpful: int
    not_helpful: int
    unanswered: list[str] = Field(default_factory=list)  # abstained or marked unhelpful


class WorkshopService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def active(self, channel_id: str) -> Workshop | None:
        with self.store.session() as session:
            return session.scalar(
                select(Workshop).where(
                    Workshop.channel_id == channel_id, Workshop.ended_at.is_(None)
                )
            )

    def start(self, channel_id: str, name: str, trainer_id: str) -> Workshop:
        name = " ".join(name.strip().strip("\"“”'").split())
        if not name:
            raise WorkshopError('give the workshop a name: /coe workshop start "RAG bootcamp"')
        if len(name) > NAME_MAX:
            raise WorkshopError(f"keep the name under {NAME_MAX} characters")
        if self.active(channel_id) is not None:
            raise WorkshopError("a workshop is already running here; `/coe workshop end` closes it")
        with self.store.session() as session:
            workshop = Workshop(channel_id=channel_id, name=name, trainer_id=trainer_id)
            session.add(workshop)
            session.flush()
            session.refresh(workshop)
            return workshop

    def end(
        self,
        channel_id: str,
        actor_id: str | None = None,
        is_staff: Callable[[str], bool] | None = None,
    ) -> WorkshopSummary:
        """Closes the channel's workshop. With an actor, only its trainer or staff may."""
        with self.store.session() as session:
            workshop = session.scalar(
                select(Workshop)
                .where(Workshop.channel_id == channel_id, Workshop.ended_at.is_(None))
                .with_for_update()
            )
            if workshop is None:
                raise WorkshopError("no workshop is running in this channel")
            if (
                actor_id is not None
                and actor_id != workshop.trainer_id
                and not (is_staff and is_staff(actor_id))
            ):
                raise WorkshopError(
                    "only the trainer who started this workshop, or CoE staff, can end it"
                )
            workshop.ended_at = datetime.now(UTC)
            answers = list(
                session.scalars(select(AnswerRecord).where(AnswerRecord.workshop_id == workshop.id))
            )
            ids = [a.id for a in answers]
            feedback = (
                list(
                    session.scalars(select(FeedbackRecord).where(FeedbackRecord.answer_id.in_(ids)))
                )
                if ids
                else []
            )
            negative = {f.answer_id for f in feedback if f.value == "negative"}
            return WorkshopSummary(
                workshop_id=workshop.id,
                name=workshop.name,
                channel_id=workshop.channel_id,
                trainer_id=workshop.trainer_id,
                questions=len(answers),
                answered=sum(1 for a in answers if not a.abstained and not a.failed),
                abstained=sum(1 for a in answers if a.abstained),
                helpful=sum(1 for f in feedback if f.value == "positive"),
                not_helpful=sum(1 for f in feedback if f.value == "negative"),
                unanswered=[a.question for a in answers if a.abstained or a.id in negative],
            )
