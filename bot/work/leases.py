"""Who holds a lease, and whether that holder can still be alive."""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime
from functools import cache
from typing import overload


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: datetime | None) -> datetime | None: ...


def aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@cache
def process_owner() -> str:
    """host:pid:nonce — the nonce tells a restarted process from its previous incarnation."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


def lease_lapsed(lease_until: datetime | None, owner: str | None, now: datetime) -> bool:
    """Whether someone else may take the work: the lease ran out, or its holder is gone."""
    until = aware(lease_until)
    return until is None or until <= now or holder_is_gone(owner)


def holder_is_gone(owner: str | None) -> bool:
    """True when the lease holder was a process on this host that no longer runs.

    A restart can then resume its predecessor's work at once instead of waiting for the lease
    to expire. Holders on other hosts are never judged: their leases simply run out.
    """
    if not owner:
        return True
    host, _, rest = owner.partition(":")
    pid_text, _, _nonce = rest.partition(":")
    if host != socket.gethostname()[:40] or not pid_text.isdigit():
        return False
    if owner == process_owner():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True  # same pid, other nonce: an earlier life of this container
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
