"""A passage cut into the pieces an answer can quote: sentences, list items and table rows.

Each piece keeps its structure (the heading it sits under, the list it belongs to and the line
that introduces it, the table's column names) so an answer can quote a whole short list, or a
table row with its column names, and never glues a heading onto a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SENTENCE = "sentence"
ITEM = "item"
ROW = "row"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(“])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+•]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$")
_EMPHASIS = re.compile(r"(\*\*|__|`)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)\s]+)\)")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Unit:
    text: str
    kind: str  # sentence | item | row
    block: int  # paragraphs, lists and tables are numbered blocks within the passage
    order: int
    heading: str  # the nearest heading above it ("" when the passage has none)
    lead: str = ""  # for list items: the line that introduces the list
    header: tuple[str, ...] = ()  # for table rows: the column names
    cells: tuple[str, ...] = ()

    @property
    def words(self) -> int:
        return len(self.text.split())

    def as_quote(self) -> str:
        """How it reads in an answer: a row with its column names, else the text."""
        if self.kind == ROW and self.header and len(self.header) == len(self.cells):
            # A column without a name (a row label) shows its value alone.
            pairs = [
                f"{h}: {c}" if h else c for h, c in zip(self.header, self.cells, strict=True) if c
            ]
            return "; ".join(pairs)
        return self.text


def clean(text: str) -> str:
    """Markdown emphasis and link syntax out; the words stay."""
    return _EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)).strip()


def _looks_like_heading(line: str, following: str | None) -> bool:
    """A short title-like line with no full stop, above a longer line: an unmarked heading
    (HTML and PDF extraction loses the '#'), not the start of the next sentence."""
    words = line.split()
    if not (1 <= len(words) <= 6) or line[-1:] in ".!?:;,":
        return False
    if not line[:1].isupper() or following is None or not following.strip():
        return False
    return len(following.split()) > len(words) + 3


def split_units(text: str, heading: str = "") -> list[Unit]:
    """Every quotable piece of a passage, in reading order."""
    units: list[Unit] = []
    lines = [raw.rstrip() for raw in text.splitlines()]
    current_heading = heading
    block = 0
    paragraph: list[str] = []
    header: tuple[str, ...] = ()
    pending_header: tuple[str, ...] | None = None
    in_list = False
    lead = ""
    open_lead = False  # the last paragraph stopped mid-sentence: it may introduce a list

    def add(text: str, kind: str, **extra) -> None:
        units.append(Unit(clean(text), kind, block, len(units), current_heading, **extra))

    def flush_paragraph() -> None:
        nonlocal block, lead, open_lead
        if not paragraph:
            return
        joined = " ".join(part.strip() for part in paragraph)
        for sentence in _SENTENCE_END.split(joined):
            if sentence.strip():
                add(sentence.strip(), SENTENCE)
        # A paragraph ending in ':' introduces the list that follows it; one that just stops
        # ("The maintainers are") does too, if a list follows.
        lead = clean(joined) if joined.rstrip().endswith(":") else ""
        open_lead = not lead and joined.rstrip()[-1:] not in ".!?)\"'”’"
        paragraph.clear()
        block += 1

    for index, raw in enumerate(lines):
        line = raw.strip()
        following = lines[index + 1] if index + 1 < len(lines) else None
        heading_match = _HEADING.match(line)
        if not line:
            flush_paragraph()
            if in_list:
                in_list, block = False, block + 1
            pending_header = None
            continue
        if heading_match:
            flush_paragraph()
            in_list, lead, open_lead = False, "", False
            current_heading = clean(heading_match.group(1))
            block += 1
            continue
        if _TABLE_RULE.match(line) and "|" in line:
            if pending_header is not None:
                header = pending_header
                if units and units[-1].kind == ROW and units[-1].cells == pending_header:
                    units.pop()  # the row above the rule names the columns
            pending_header = None
            continue
        if line.startswith("|"):
            flush_paragraph()
            open_lead = False
            cells = tuple(clean(c) for c in line.strip().strip("|").split("|"))
            pending_header = cells
            if not header or len(cells) != len(header):
                header = header if header and len(cells) == len(header) else ()
            add(" — ".join(c for c in cells if c), ROW, header=header, cells=cells)
            continue
        header = () if not line.startswith("|") else header
        if _LIST_MARKER.match(line):
            if not in_list:
                flush_paragraph()
                in_list = True
                if open_lead and units and units[-1].kind == SENTENCE:
                    # Its last sentence is the list's lead-in, not a quote of its own.
                    lead = units.pop().text
            open_lead = False
            item = _LIST_MARKER.sub("", line, count=1)
            add(item, ITEM, lead=lead)
            continue
        if in_list and raw[:1] in (" ", "\t") and units and units[-1].kind == ITEM:
            # A wrapped list item continues on an indented line.
            last = units.pop()
            units.append(
                Unit(
                    clean(f"{last.text} {line}"),
                    ITEM,
                    last.block,
                    last.order,
                    last.heading,
                    lead=last.lead,
                )
            )
            continue
        if in_list:
            in_list, block, lead = False, block + 1, ""
        if not paragraph and _looks_like_heading(line, following):
            flush_paragraph()
            current_heading = clean(line)
            block += 1
            continue
        open_lead = False
        paragraph.append(line)
    flush_paragraph()
    return [u for u in units if u.text]


def quotable(unit: Unit) -> bool:
    """Whether a piece can stand alone in an answer."""
    if is_non_answer(unit):
        return False
    if unit.text.endswith(":"):
        return False  # it only introduces what follows; alone it answers nothing
    return unit.words >= 3 if unit.kind == SENTENCE else unit.words >= 1


def quotable_units(text: str, heading: str = "") -> list[Unit]:
    """The pieces of a passage an answer may quote, in reading order. Ingest embeds exactly
    these, in this order, so the i-th vector stored for a passage means its i-th piece."""
    return [u for u in split_units(text, heading) if quotable(u)]


MEANING_WORDS = 32  # a piece's opening words carry its meaning; long table rows cost 10x more


def meaning_text(unit: Unit) -> str:
    """What is embedded to judge a piece by meaning. A list item means little alone
    ("Drift"), so it is judged with the line that introduces it, or else its heading."""
    text = unit.as_quote()
    if unit.kind == ITEM:
        text = f"{unit.lead or unit.heading} {text}"
    return " ".join(text.split()[:MEANING_WORDS])


# -- what is not an answer ---------------------------------------------------------------

_NON_ANSWER_HEADINGS = re.compile(
    r"\b(references?|further reading|see also|resources|bibliography|citations?|sources|"
    r"acknowledge?ments?|licen[cs]e|copyright|changelog|change log|contributors?|"
    r"related (links|pages|documents)|footnotes?|table of contents|contents)\b",
    re.IGNORECASE,
)
_BOILERPLATE_OPENER = re.compile(
    r"^(this|the following|these|the present|in this)\s+(\w+\s+){0,3}?"
    r"(document|standard|guide|page|section|playbook|policy|checklist|chapter|article|"
    r"paper|report|note|notes|handbook|runbook|catalogue|catalog|faq|glossary|charter|post)s?\b"
    r"[^.]{0,80}\b(describes?|defines?|explains?|outlines?|covers?|sets out|provides?|"
    r"contains?|lists?|summari[sz]es?|introduces?|presents?|documents?|is for|is about)\b",
    re.IGNORECASE,
)
_LICENCE = re.compile(
    r"(licen[cs]ed under|creative commons|cc[- ]by|all rights reserved|spdx-license|"
    r"apache license|mit license|gnu general public|copyright ©|\(c\) \d{4}|©\s*\d{4})",
    re.IGNORECASE,
)
_LINK_LEAD = re.compile(
    r"^(see|read|more|source|sources|reference|references|link|via)\b[:\s]", re.IGNORECASE
)


def is_non_answer(unit: Unit) -> bool:
    """Questions, openers about the document itself, references, licence lines, bare links."""
    text = unit.text
    if unit.kind == SENTENCE and text.rstrip().endswith("?"):
        return True  # an FAQ's question restates the asker's; its answer follows it
    if unit.kind == SENTENCE and _UNFINISHED.search(text):
        return True  # "The current maintainers are" introduces something we cannot show
    if _NON_ANSWER_HEADINGS.search(unit.heading or ""):
        return True
    if _BOILERPLATE_OPENER.match(text) or _LICENCE.search(text):
        return True
    if _CODE.search(text) or _symbol_heavy(text):
        return True  # code and console output read as noise in a chat answer
    if _URL.search(text) and len(_URL.sub("", text).split()) < max(3, len(text.split()) // 2):
        return True  # mostly a link
    if _LINK_LEAD.match(text) and (_URL.search(text) or len(text.split()) <= 8):
        return True
    return bool(re.fullmatch(r"[\W\d_]+", text))


# A sentence that stops on a word that needs something after it, with no full stop.
_UNFINISHED = re.compile(
    r"\b(are|is|was|were|be|include|includes|including|the|a|an|of|to|and|or|by|for|with|"
    r"as|such as|following|below|these|our|their|its|from|into|on|at|in)\s*$",
    re.IGNORECASE,
)
_CODE = re.compile(
    r"(^\s*(>>>|\$ |\.\.\. |#!|import \w|from [\w.]+ import|def \w|class \w)|dtype:"
    r"|^\s*[\w.]+\s*=\s*[\w.]+\(|^\s*[A-Za-z_][\w.]*\(.*\)\s*;?\s*$|-{5,}|\"{3}|'{3})"
)


def _symbol_heavy(text: str) -> bool:
    symbols = sum(1 for ch in text if ch in "=()[]{}<>;_#*/\\|")
    return len(text) > 20 and symbols / len(text) > 0.15


def near_duplicate(a: str, b: str, threshold: float = 0.7) -> bool:
    wa = set(re.findall(r"\w+", a.lower()))
    wb = set(re.findall(r"\w+", b.lower()))
    if not wa or not wb:
        return a.strip() == b.strip()
    return len(wa & wb) / len(wa | wb) >= threshold
