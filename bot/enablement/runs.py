"""Checklist runs: a channel works through a checklist together; every tick is recorded."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select

from bot.db.models import ChecklistRun, ChecklistTick, ConsultationRequest
from bot.db.store import Store
from bot.enablement.checklists import ChecklistDoc
from bot.enablement.metrics import checklist_state


class RunView(BaseModel):
    id: int
    channel_id: str
    doc_id: str
    title: str
    version: str
    sections: list[dict]
    started_by: str
    message_ts: str | None
    done: set[str]
    ticked_by: dict[str, str]  # item key -> who last ticked it
    request_id: int | None = None

    @property
    def total(self) -> int:
        return sum(len(s["items"]) for s in self.sections)


def item_key(section: int, item: int) -> str:
    return f"{section}.{item}"


class ChecklistRuns:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _view(self, run: ChecklistRun, ticks: list[ChecklistTick]) -> RunView:
        state = checklist_state(ticks)
        last_by: dict[str, str] = {}
        for tick in sorted(ticks, key=lambda t: t.id):
            if tick.checked:
                last_by[tick.item_key] = tick.user_id
        done = {k for k, v in state.items() if v}
        return RunView(
            id=run.id,
            channel_id=run.channel_id,
            doc_id=run.doc_id,
            title=run.title,
            version=run.version,
            sections=run.sections,
            started_by=run.started_by,
            message_ts=run.message_ts,
            done=done,
            ticked_by={k: u for k, u in last_by.items() if k in done},
            request_id=run.request_id,
        )

    def start(self, channel_id: str, checklist: ChecklistDoc, user_id: str) -> RunView:
        sections = [
            {"title": s.title, "items": list(s.items)} for s in checklist.checklist.sections
        ]
        with self.store.session() as session:
            run = ChecklistRun(
                channel_id=channel_id,
                doc_id=checklist.doc_id,
                title=checklist.title,
                version=checklist.checklist.version,
                sections=sections,
                started_by=user_id,
            )
            session.add(run)
            session.flush()
            return self._view(run, [])

    def get(self, run_id: int) -> RunView:
        with self.store.session() as session:
            run = session.get(ChecklistRun, run_id)
            if run is None:
                raise LookupError(f"no checklist run {run_id}")
            ticks = list(
                session.scalars(select(ChecklistTick).where(ChecklistTick.run_id == run_id))
            )
            return self._view(run, ticks)

    def set_message(self, run_id: int, ts: str) -> None:
        with self.store.session() as session:
            run = session.get(ChecklistRun, run_id)
            if run is None:
                raise LookupError(f"no checklist run {run_id}")
            run.message_ts = ts

    def tick(self, run_id: int, shown: set[str], selected: set[str], user_id: str) -> RunView:
        """`shown` are the items of the clicked group, `selected` those now ticked in it."""
        with self.store.session() as session:
            run = session.scalar(
                select(ChecklistRun).where(ChecklistRun.id == run_id).with_for_update()
            )
            if run is None:
                raise LookupError(f"no checklist run {run_id}")
            ticks = list(
                session.scalars(select(ChecklistTick).where(ChecklistTick.run_id == run_id))
            )
            state = checklist_state(ticks)
            for key in sorted(shown):
                now_checked = key in selected
                if state.get(key, False) != now_checked:
                    session.add(
                        ChecklistTick(
                            run_id=run_id, item_key=key, checked=now_checked, user_id=user_id
                        )
                    )
        return self.get(run_id)

    def attach(self, run_id: int, request_id: int) -> None:
        with self.store.session() as session:
            run = session.get(ChecklistRun, run_id)
            if run is None:
                raise LookupError(f"no checklist run {run_id}")
            if session.get(ConsultationRequest, request_id) is None:
                raise LookupError(f"no request CR-{request_id:04d}")
            run.request_id = request_id

    def all(self, limit: int = 200) -> list[RunView]:
        with self.store.session() as session:
            runs = list(
                session.scalars(select(ChecklistRun).order_by(ChecklistRun.id.desc()).limit(limit))
            )
            ids = [r.id for r in runs]
            ticks = (
                list(session.scalars(select(ChecklistTick).where(ChecklistTick.run_id.in_(ids))))
                if ids
                else []
            )
        by_run: dict[int, list[ChecklistTick]] = {}
        for t in ticks:
            by_run.setdefault(t.run_id, []).append(t)
        return [self._view(r, by_run.get(r.id, [])) for r in runs]
