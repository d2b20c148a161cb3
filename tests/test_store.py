"""The store on SQLite and on PostgreSQL: migrations, the answer log and feedback round-trip."""

from __future__ import annotations

import uuid

from bot.db.engine import make_engine, upgrade
from bot.db.store import AnswerEntry, Store


def _store(url: str) -> Store:
    engine = make_engine(url)
    upgrade(engine)
    return Store(engine)


def test_migrations_are_idempotent_and_the_answer_log_round_trips(database_url):
    store = _store(database_url)
    upgrade(store.engine)  # a second start-up applies nothing and breaks nothing
    thread = f"17.{uuid.uuid4().int % 10**6}"
    ref = store.record_answer(
        AnswerEntry(
            "mention", "U1", "C1", thread, "first?", abstained=False, source_doc_ids=("a.md",)
        )
    )
    store.record_answer(AnswerEntry("thread", "U1", "C1", thread, "second?"))
    assert store.bot_in_thread("C1", thread)
    assert not store.bot_in_thread("C1", "0.0")
    assert store.thread_questions("C1", thread) == ["first?", "second?"]
    store.set_message_ts(ref, "99.1")
    assert store.answer(ref).message_ts == "99.1"
    assert store.answer(ref).source_doc_ids == ["a.md"]
    assert store.record_feedback(ref, "U2", "positive")
    assert [f.value for f in store.feedback_for(ref)] == ["positive"]
