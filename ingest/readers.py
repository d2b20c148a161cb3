"""Turns one file's bytes, of any supported format, into a header and Markdown-like text.

Every failure becomes a DocumentError whose message tells the author what to fix.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from ingest import SUPPORTED_SUFFIXES
from ingest.errors import DocumentError
from ingest.frontmatter import FrontMatter, split_front_matter, validate_front_matter

TEXT_SUFFIXES = (".md", ".markdown", ".txt")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class LoadedDocument:
    meta: FrontMatter
    title: str
    body: str  # Markdown-like: '#' headings, '- ' list items, paragraphs


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError("not valid UTF-16 despite its byte-order mark") from None
    if b"\x00" in data[:8192]:
        raise DocumentError("looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        bad = data[error.start : error.start + 1].hex()
        raise DocumentError(
            f"not valid UTF-8 (byte 0x{bad} at offset {error.start}); save the file as UTF-8"
        ) from None


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


_HTML_META_KEYS = ("title", "type", "owner", "review_by", "audience", "tags", "url")


def _read_html(path: Path, data: bytes) -> LoadedDocument:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    header = {}
    for tag in soup.find_all("meta"):
        name = (tag.get("name") or "").strip().lower().replace("-", "_")
        if name in _HTML_META_KEYS and tag.get("content"):
            header[name] = tag["content"]
    meta = validate_front_matter(header)
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    lines: list[str] = []
    blocks = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "th", "dt", "dd"]
    for element in (soup.body or soup).find_all(blocks):
        if element.find(blocks):
            continue  # a container of other blocks: its children are visited on their own
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            lines.append(f"\n{'#' * int(element.name[1:])} {text}\n")
        elif element.name == "li":
            lines.append(f"- {text}")
        else:
            lines.append(f"{text}\n")
    return _finish(path, meta, "\n".join(lines), page_title)


def _read_pdf(path: Path, data: bytes) -> LoadedDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("PDF is encrypted; export an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise DocumentError(f"not a readable PDF: {error}") from None
    text = "\n\n".join(p.strip() for p in pages)
    if not re.search(r"\w", text):
        raise DocumentError("PDF has no extractable text (a scanned image?)")
    return _finish(path, FrontMatter(), text, info_title)


def _read_docx(path: Path, data: bytes) -> LoadedDocument:
    import zipfile

    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DocumentError(f"not a readable Word (.docx) file: {error}") from None
    lines: list[str] = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        level = re.match(r"Heading (\d)", style)
        if style == "Title":
            lines.append(f"\n# {text}\n")
        elif level:
            lines.append(f"\n{'#' * (int(level.group(1)) + 1)} {text}\n")
        elif style.startswith("List"):
            lines.append(f"- {text}")
        else:
            lines.append(f"{text}\n")
    for table in document.tables:
        for row in table.rows:
            cells = [cell.text.strip() for cell in row.cells]
            lines.append(" | ".join(cells))
    core_title = (document.core_properties.title or "").strip() or None
    return _finish(path, FrontMatter(), "\n".join(lines), core_title)


def parse_document(path: Path, suffix: str, data: bytes) -> LoadedDocument:
    """A document from bytes already read; `path` is the name the author sees (for the title),
    `suffix` the real file's type."""
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(
            f"unsupported file type '{suffix or path.name}' "
            f"(supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    if not data.strip():
        raise DocumentError("file is empty")
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, data)
    if suffix in HTML_SUFFIXES:
        return _read_html(path, data)
    if suffix == ".pdf":
        return _read_pdf(path, data)
    return _read_docx(path, data)
