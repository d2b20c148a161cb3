"""How clean the text taken from a file looks: what ingest reports, and when it warns.

Measured on the Markdown-like body that is indexed (after the format's own clean-up), because
that is the text answers quote. A content line is any line that is not blank, a heading, a
table's |---| rule or inside a code fence. It counts as clutter when it is:

- punctuation only (no letter or digit: "....", "* * *", "|  |"),
- a page number ("12", "Page 3 of 9", "- 4 -", "xii") or a table-of-contents line
  ("Introduction ........ 3"),
- a lone fragment outside a list or table: one word (not counting scripts written without
  spaces), or at most two characters,
- a paragraph line repeated three times or more (digits ignored): a running header left behind.

A file warns when at least `MIN_LINES` content lines are there and `CLUTTER_WARN` of them are
clutter, or when `ODD_WARN` of its characters are replacement characters, private-use glyphs,
control characters or "(cid:N)" codes (a PDF font without a usable text mapping).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

CLUTTER_WARN = 0.3
ODD_WARN = 0.02
MIN_LINES = 10

_PAGE_NUMBER = re.compile(
    r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$|^[-–—]\s*\d{1,4}\s*[-–—]$"
    r"|^(?=[ivx])x{0,3}(?:ix|iv|v?i{0,3})$",
    re.IGNORECASE,
)
TOC_LINE = re.compile(
    r"^.{2,}?\s*(?:\.{3,}|(?:\.\s){3,}\.?|…{2,}|_{4,})\s*(?:\d{1,4}|[ivxlc]{1,6})$"
)
_LIST = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")
_HEADING = re.compile(r"^#{1,6}\s")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{3,}")
_FENCE = re.compile(r"^\s*(```|~~~)")
_ODD = re.compile(r"[\ufffd\ue000-\uf8ff\x00-\x08\x0b\x0c\x0e-\x1f]|\(cid:\d+\)")


_UNSPACED_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f]")


def _fragment(line: str) -> bool:
    """One word alone (scripts written without spaces excepted)."""
    return len(line.split()) == 1 and not _UNSPACED_SCRIPT.search(line)


def is_page_number(line: str) -> bool:
    return bool(_PAGE_NUMBER.match(line.strip()))


@dataclass(frozen=True)
class Quality:
    chars_extracted: int  # the text the format's reader gave, before clean-up
    chars_kept: int  # the text indexed
    lines: int  # content lines
    clutter: int  # content lines that look like clutter
    odd_chars: int

    @property
    def clutter_share(self) -> float:
        return self.clutter / self.lines if self.lines else 0.0

    @property
    def odd_share(self) -> float:
        return self.odd_chars / self.chars_kept if self.chars_kept else 0.0

    @property
    def garbled(self) -> bool:
        return (
            self.lines >= MIN_LINES and self.clutter_share >= CLUTTER_WARN
        ) or self.odd_share >= ODD_WARN

    def warning(self) -> str:
        """What the ingest summary says about a garbled file."""
        if self.odd_share >= ODD_WARN:
            what = f"{self.odd_share:.0%} of its characters are unreadable glyphs"
        else:
            what = (
                f"{self.clutter_share:.0%} of its {self.lines:,} lines look like clutter "
                "(fragments, page numbers, punctuation or repeated lines)"
            )
        return (
            f"text looks garbled: {what}; {self.chars_kept:,} characters indexed of "
            f"{self.chars_extracted:,} extracted. Check it with `coe search`, or export the "
            "file again (e.g. as Markdown or Word)"
        )


def _content_lines(body: str) -> list[tuple[str, str]]:
    """(kind, text) of each content line: kind is 'list', 'table' or 'text'."""
    found: list[tuple[str, str]] = []
    in_fence = False
    for raw in body.splitlines():
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        line = raw.strip()
        if in_fence or not line or _HEADING.match(line) or _TABLE_RULE.match(line):
            continue
        if line.startswith("|"):
            found.append(("table", line.strip("|")))
        elif _LIST.match(line):
            found.append(("list", _LIST.sub("", line, count=1)))
        else:
            found.append(("text", line))
    return found


def _repeat_key(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.casefold().split()))


def measure(body: str, chars_extracted: int) -> Quality:
    lines = _content_lines(body)
    repeats = Counter(_repeat_key(text) for kind, text in lines if kind == "text")
    clutter = 0
    for kind, text in lines:
        bare = text.replace("|", " ").strip()
        if (
            not re.search(r"\w", bare)
            or is_page_number(bare)
            or TOC_LINE.match(bare)
            or (kind == "text" and (len(bare) <= 2 or _fragment(bare)))
            or (kind == "text" and repeats[_repeat_key(text)] >= 3)
        ):
            clutter += 1
    return Quality(
        chars_extracted=max(chars_extracted, len(body)),
        chars_kept=len(body),
        lines=len(lines),
        clutter=clutter,
        odd_chars=len(_ODD.findall(body)),
    )
