"""Wiring shared by the CLI and the server: settings → database → services."""

from __future__ import annotations

from bot.db.engine import database_url, make_engine, upgrade
from bot.db.store import Store
from bot.settings import Settings


def open_store(settings: Settings) -> Store:
    engine = make_engine(database_url(settings.database_url, settings.data_dir))
    upgrade(engine)
    return Store(engine)
