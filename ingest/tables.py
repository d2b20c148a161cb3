"""Markdown tables, the one shape every reader gives a table in (and chunking keeps whole)."""

from __future__ import annotations

import re

TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def markdown_table(rows: list[list[str]]) -> str:
    """A header row (the first row), its |---| rule and one line per further row."""
    width = max(len(row) for row in rows)
    lines = []
    for number, row in enumerate(rows):
        cells = [_cell(c) for c in row] + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join(["---"] * width) + "|")
    return "\n".join(lines)
