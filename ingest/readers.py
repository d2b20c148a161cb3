"""Turns one file's bytes, of any supported format, into a header and Markdown-like text.

Every failure becomes a DocumentError whose message tells the author what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest import SUPPORTED_SUFFIXES
from ingest.errors import DocumentError, EmptyDocumentError
from ingest.frontmatter import FrontMatter, Header, read_header, split_front_matter
from ingest.parsers import Extracted, decode_text
from ingest.quality import Quality, measure

# Raised whenever reading or cleaning changes what a file gives: files read by an older reader
# are read again even though their bytes did not change (unchanged chunks keep their vectors).
READER_VERSION = 3

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class LoadedDocument:
    meta: FrontMatter
    title: str
    body: str  # Markdown-like: '#' headings, '- ' list items, paragraphs, '|' tables
    notes: tuple[str, ...] = ()  # said about the file in the ingest output; never a failure
    quality: Quality | None = None


_WORD = re.compile(
    r"[A-Z]+[0-9]*(?![a-z])|[A-Z]?[a-z]+(?:[0-9]+[a-z]*)?|[0-9]+[A-Za-z]*|[^\W\d_]+\d*"
)
_SMALL_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "vs",
        "via",
        "with",
    ]
)


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def readable_name(stem: str) -> str:
    """A title from a file name: 'LLM10_UnboundedConsumption' -> 'LLM10 Unbounded Consumption'.

    Splits snake_case, kebab-case and camelCase; keeps acronyms and numbers as they are;
    drops a leading ordering number ('01-introduction' -> 'Introduction')."""
    words = _WORD.findall(stem)
    if len(words) > 1 and words[0].isdigit() and len(words[0]) <= 3:
        words = words[1:]
    shown = [
        w.capitalize() if w.islower() and (i == 0 or w not in _SMALL_WORDS) else w
        for i, w in enumerate(words)
    ]
    return " ".join(shown) or stem


def _finish(
    path: Path,
    header: Header,
    body: str,
    found_title: str | None,
    extracted_chars: int,
    notes: list[str] | None = None,
) -> LoadedDocument:
    body = body.strip()
    if not re.search(r"\w", body):
        raise EmptyDocumentError("document has no text to index")
    meta = header.meta
    title = meta.title or found_title or _first_heading(body) or readable_name(path.stem)
    return LoadedDocument(
        meta=meta,
        title=title,
        body=body,
        notes=tuple(header.notes + (notes or [])),
        quality=measure(body, extracted_chars),
    )


def _read_text(path: Path, data: bytes) -> LoadedDocument:
    text = decode_text(data)
    header, body = split_front_matter(text)
    return _finish(path, header, body, None, len(text))


class StructuredParser(Protocol):
    """Extracts text from html/pdf/docx bytes; `ingest.sandbox.ParserSandbox` in production."""

    def parse(self, kind: str, data: bytes) -> Extracted: ...


def _kind(suffix: str) -> str:
    return "html" if suffix in HTML_SUFFIXES else suffix.removeprefix(".")


def parse_document(
    path: Path, suffix: str, data: bytes, parser: StructuredParser
) -> LoadedDocument:
    """A document from bytes already read; `path` is the name the author sees (for the title),
    `suffix` the real file's type. Text is parsed here, other formats by `parser`."""
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"unsupported file type '{suffix or path.name}' "
            f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    if not data.strip():
        raise EmptyDocumentError("file is empty")
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, data)
    extracted = parser.parse(_kind(suffix), data)
    header = read_header(extracted["header"]) if extracted["header"] else Header(FrontMatter())
    return _finish(
        path,
        header,
        extracted["body"],
        extracted["title"],
        extracted["raw_chars"],
        list(extracted["notes"]),
    )
