"""Logging for `coe serve`: plain lines, or one JSON object a line (COE_LOG_FORMAT=json) that a
log pipeline can index. Either way a line written while a question or a message is being
handled carries its reference, the id people quote from the error message they got."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

REFERENCE: ContextVar[str | None] = ContextVar("coe_reference", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(reference)s%(message)s"


@contextmanager
def about(reference: str | None) -> Iterator[None]:
    """Log lines written inside carry `reference` (per thread: contextvars)."""
    token = REFERENCE.set(reference)
    try:
        yield
    finally:
        REFERENCE.reset(token)


class _WithReference(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        reference = REFERENCE.get()
        record.reference = f"[ref {reference}] " if reference else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        reference = REFERENCE.get()
        if reference:
            data["reference"] = reference
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(log_format: str, level: int = logging.INFO) -> logging.Handler:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.addFilter(_WithReference())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return handler
