"""Readable paragraphs from the lines a PDF text extractor gives, page by page.

A PDF has no paragraphs, only positioned lines, and its extracted text shows it: lines end where
the page's margin was, exports from Google Docs put a blank line after every line, some files
come out one word per line, and each page repeats its header, footer and page number. This
module undoes what it can tell from the text alone:

- ligatures and other compatibility characters are normalised (NFKC); soft hyphens dropped;
- a line repeated at the top or bottom of most pages (a running header or footer, digits
  ignored) and page numbers there are removed, as are table-of-contents lines
  ("Introduction ........ 3") and the "Contents" heading above them;
- hard-wrapped lines are joined into paragraphs, a word hyphenated at a line end is mended;
  blank lines after every line, and runs of one word per line, are joined too;
- bullets become '- ' items; a short line that stands alone between paragraphs becomes a
  '## ' heading (numbered ones by their depth), so it never runs into the sentence below it.

Tables are not recognised in PDFs: their rows come out as lines of cell values.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from ingest.quality import TOC_LINE, is_page_number

_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_BULLET = re.compile(
    r"^(?:[•●◦▪■▫◆◇►▸▶‣⁃∙·\uf0b7\uf0a7\uf0d8\uf076\uf0fc\uf0a8]\s*|[-–—*o]\s+)(?=\S)"
)
_NUMBERED = re.compile(r"^(?:\(?\d{1,2}[.)]|\(?[a-z][.)]|\([ivx]{1,4}\))\s+(?=\S)")
_NUMBERED_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+[A-Z]")
_SECTION_NUMBER = re.compile(r"^\d{1,2}\.\d{1,2}(?:\.\d{1,2})*\.?\s+[A-Z]")
_ENDS_SENTENCE = re.compile(r"[.!?:;][\"'”’)\]]*$")
_ENDS_STRONGLY = re.compile(r"[.!?][\"'”’)\]]*$")
_CONTENTS = re.compile(r"^(?:table of )?contents$", re.IGNORECASE)
# Prefixes whose hyphen is kept when a line breaks after it ("self-" + "service").
_KEEP_HYPHEN = frozenset(
    [
        "self",
        "non",
        "cross",
        "well",
        "ex",
        "all",
        "half",
        "high",
        "low",
        "long",
        "short",
        "real",
        "end",
        "full",
        "open",
        "third",
        "two",
        "three",
        "one",
        "four",
        "five",
        "multi",
        "co",
        "anti",
        "pre",
        "post",
    ]
)
_ZONE = 2  # lines at the top and at the bottom of a page that may be a header or footer


@dataclass
class _Removed:
    running: Counter[str] = field(default_factory=Counter)  # first wording -> pages
    running_text: dict[str, str] = field(default_factory=dict)
    page_numbers: int = 0
    toc_lines: int = 0

    def note(self, pages: int) -> str | None:
        parts = []
        for key, count in self.running.most_common(2):
            parts.append(
                f"a running header or footer on {count} of {pages} pages "
                f"('{self.running_text[key]}')"
            )
        if len(self.running) > 2:
            parts.append(f"{len(self.running) - 2} more repeated header or footer lines")
        if self.page_numbers:
            parts.append(f"{self.page_numbers} page numbers")
        if self.toc_lines:
            parts.append(f"{self.toc_lines} table-of-contents lines")
        return "PDF clean-up removed " + "; ".join(parts) if parts else None


def _normal(line: str) -> str:
    line = _INVISIBLE.sub("", unicodedata.normalize("NFKC", line))
    return " ".join(line.split())


def _repeat_key(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold())


def _zones(lines: list[str]) -> set[int]:
    filled = [i for i, line in enumerate(lines) if line]
    return set(filled[:_ZONE] + filled[-_ZONE:])


def _strip_pages(pages: list[list[str]], removed: _Removed) -> list[list[str]]:
    """Pages without running headers and footers, page numbers and table-of-contents lines."""
    seen: Counter[str] = Counter()
    for lines in pages:
        seen.update({_repeat_key(lines[i]) for i in _zones(lines)})
    running = {
        key
        for key, count in seen.items()
        if len(pages) >= 3 and count >= max(3, len(pages) / 2) and re.search(r"\w", key)
    }
    cleaned: list[list[str]] = []
    for lines in pages:
        zone = _zones(lines)
        kept: list[str] = []
        for i, line in enumerate(lines):
            key = _repeat_key(line)
            if i in zone and is_page_number(line):
                removed.page_numbers += 1
                continue
            if i in zone and key in running:
                removed.running[key] += 1
                removed.running_text.setdefault(key, line)
                continue
            if TOC_LINE.match(line):
                removed.toc_lines += 1
                continue
            kept.append(line)
        if kept and any(TOC_LINE.match(x) for x in lines):
            kept = [x for x in kept if not _CONTENTS.match(x)]
        cleaned.append(kept)
    return cleaned


def _typical_width(lines: list[str]) -> int:
    widths = sorted(len(x) for x in lines if len(x.split()) >= 3)
    if not widths:
        return max((len(x) for x in lines), default=0)
    return widths[int(0.9 * (len(widths) - 1))]


def _joined(previous: str, line: str) -> str:
    if previous.endswith("-") and len(previous) > 1 and previous[-2].isalpha():
        word = re.split(r"[\s/(]", previous[:-1])[-1]
        if line[:1].islower() and word.islower() and word.casefold() not in _KEEP_HYPHEN:
            return previous[:-1] + line  # "effec-" + "tive"
        return previous + line  # "self-" + "service", "GPT-" + "4"
    return f"{previous} {line}"


class _Writer:
    """Collects blocks: paragraphs, list items and headings, each on its own line."""

    def __init__(self) -> None:
        self.blocks: list[tuple[str, str]] = []  # (kind, text): 'p', 'li', 'h'
        self.open: str | None = None  # kind of the block still taking lines
        self.last = ""  # the last line taken, as the page had it

    def start(self, kind: str, text: str) -> None:
        self.blocks.append((kind, text))
        self.open = kind if kind != "h" else None
        self.last = text

    def heading(self, text: str, width: int) -> None:
        # A short line alone just before a heading is a heading too (a title above a section).
        if self.blocks and self.blocks[-1][0] == "p" and _label(self.blocks[-1][1], width):
            self.blocks[-1] = ("h", self.blocks[-1][1])
        self.start("h", text)

    def extend(self, line: str) -> None:
        kind, text = self.blocks[-1]
        self.blocks[-1] = (kind, _joined(text, line))
        self.last = line

    def close(self) -> None:
        self.open = None

    def markdown(self) -> str:
        out: list[str] = []
        for number, (kind, text) in enumerate(self.blocks):
            if kind == "h":
                match = _NUMBERED_HEADING.match(text)
                level = 1 if number == 0 else 2 + (match.group(1).count(".") if match else 0)
                out.append(f"\n{'#' * min(level, 6)} {text}\n")
            elif kind == "li":
                out.append(f"- {text}" if not _NUMBERED.match(text) else text)
            else:
                out.append(f"\n{text}\n")
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _word_runs(items: list[str | None]) -> set[int]:
    """Indexes of lines in runs of three or more one-word lines (blank lines in between allowed)."""
    flagged: set[int] = set()
    run: list[int] = []
    for i, item in enumerate([*items, "end of text"]):
        if item is None or item == "":
            continue
        if len(item.split()) == 1 and not _BULLET.match(item):
            run.append(i)
            continue
        if len(run) >= 3:
            flagged.update(run)
        run = []
    return flagged


def clean_pdf_text(page_texts: list[str]) -> tuple[str, list[str]]:
    """Markdown-like text from the extracted text of each page, and notes on what was removed."""
    removed = _Removed()
    pages = _strip_pages([[_normal(x) for x in text.splitlines()] for text in page_texts], removed)
    # One stream of lines; None marks a page break, "" a blank line.
    items: list[str | None] = []
    for lines in pages:
        items.extend(lines)
        items.append(None)
    filled = [x for x in items if x]
    followed_by_blank = sum(1 for a, b in itertools.pairwise(items) if a and b == "")
    doubled = len(filled) >= 3 and followed_by_blank > 0.6 * len(filled)
    width = _typical_width(filled)
    words = _word_runs(items)
    following = _next_lines(items)

    writer = _Writer()
    blanks = 0
    previous = -1  # index of the last line taken
    for i, item in enumerate(items):
        if item is None:
            continue
        if item == "":
            blanks += 1
            if not doubled or blanks >= 2:
                writer.close()
            continue
        after_break = blanks > 0 and (not doubled or blanks >= 2)
        blanks = 0
        in_run = i in words and previous in words
        previous = i
        if _BULLET.match(item):
            writer.start("li", _BULLET.sub("", item, count=1))
        elif _NUMBERED.match(item) and not _looks_like_heading(item, following[i], width):
            writer.start("li", item)
        elif writer.open and in_run and not _ENDS_STRONGLY.search(writer.last):
            writer.extend(item)
        elif _SECTION_NUMBER.match(item) and len(item) <= 80 and not item.endswith("."):
            writer.heading(item, width)  # "2.1 Directory layout": a heading wherever it falls
        elif (
            i not in words
            and _looks_like_heading(item, following[i], width)
            and (not writer.open or _ends_paragraph(writer.last, width, item) or after_break)
        ):
            writer.heading(item, width)
        elif (writer.open == "p" and not _ends_paragraph(writer.last, width, item)) or (
            writer.open == "li" and not _ends_paragraph(writer.last, width, item)
        ):
            writer.extend(item)
        else:
            writer.start("p", item)
    notes = [note] if (note := removed.note(len(page_texts))) else []
    return writer.markdown(), notes


def _next_lines(items: list[str | None]) -> list[str]:
    following = [""] * len(items)
    upcoming = ""
    for i in range(len(items) - 1, -1, -1):
        following[i] = upcoming
        if items[i]:
            upcoming = str(items[i])
    return following


def _ends_paragraph(previous: str, width: int, line: str = "") -> bool:
    short = len(previous) < 0.8 * width
    if _ENDS_SENTENCE.search(previous):
        return short
    # A short line with no closing punctuation before a capital: a label or a title line.
    return (
        len(previous) < 0.6 * width
        and line[:1].isupper()
        and not previous.endswith((",", "-", "–", "("))
    )


def _label(text: str, width: int) -> bool:
    return len(text) < 0.6 * width and not _ENDS_SENTENCE.search(text) and text[:1].isupper()


def _looks_like_heading(line: str, following: str, width: int) -> bool:
    if width < 30 or len(line) > min(80, 0.7 * width) or len(line.split()) > 10:
        return False
    if _ENDS_SENTENCE.search(line) or line.endswith(","):
        return False
    if not (line[:1].isupper() or _NUMBERED_HEADING.match(line)) or not re.search(r"[^\W\d]", line):
        return False
    # What follows must be text (a long line, a sentence, a list), not another short line:
    # runs of short lines are table rows or a list without bullets.
    return bool(following) and (
        len(following) >= 0.6 * width
        or bool(_ENDS_SENTENCE.search(following))
        or bool(_BULLET.match(following))
    )
