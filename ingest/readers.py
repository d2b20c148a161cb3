"""Turns one file's bytes, of any supported format, into a header and Markdown-like text.

Every failure becomes a DocumentError whose message tells the author what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ingest import SUPPORTED_SUFFIXES
from ingest.errors import DocumentError
from ingest.frontmatter import FrontMatter, split_front_matter, validate_front_matter
from ingest.parsers import Extracted, decode_text

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class LoadedDocument:
    meta: FrontMatter
    title: str
    body: str  # Markdown-like: '#' headings, '- ' list items, paragraphs


def _first_heading(body: str) -> str | None:
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def _finish(path: Path, meta: FrontMatter, body: str, found_title: str | None) -> LoadedDocument:
    body = body.strip()
    if not re.search(r"\w", body):
        raise DocumentError("document has no text to index")
    title = meta.title or found_title or _first_heading(body) or _title_from_name(path)
    return LoadedDocument(meta=meta, title=title, body=body)


def _read_text(path: Path, data: bytes) -> LoadedDocument:
    meta, body = split_front_matter(decode_text(data))
    return _finish(path, meta, body, None)


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
        raise DocumentError("file is empty")
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, data)
    extracted = parser.parse(_kind(suffix), data)
    meta = validate_front_matter(extracted["header"]) if extracted["header"] else FrontMatter()
    return _finish(path, meta, extracted["body"], extracted["title"])
