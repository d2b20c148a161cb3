"""First-response targets in working days (Monday to Friday)."""

from __future__ import annotations

from datetime import datetime, timedelta


def add_working_days(start: datetime, days: float) -> datetime:
    """`start` plus `days` working days; weekend days are skipped, time of day is kept."""
    whole = int(days)
    moment = start
    # A request filed at the weekend starts its clock on Monday morning's equivalent.
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    added = 0
    while added < whole:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            added += 1
    moment += timedelta(days=days - whole)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment
