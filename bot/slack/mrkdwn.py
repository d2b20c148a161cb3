"""Safe mrkdwn: untrusted text is escaped; links are built only from trusted parts."""

from __future__ import annotations

import re

_ALLOWED_LINK = re.compile(r"^(https?://|mailto:)[^\s<>|]+$")


def escape(text: str) -> str:
    """`<!channel>`, `<@U123>` and `<https://x|y>` become inert text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A link when the URL is a plain http(s) address; otherwise just the escaped label."""
    label = escape(label).replace("|", "¦")
    if url and _ALLOWED_LINK.match(url):
        return f"<{url}|{label}>"
    return label


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
