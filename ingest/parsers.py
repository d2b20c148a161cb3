"""Text out of html, pdf and docx bytes, within limits on unpacked size, paragraphs and pages.

These run inside the parser process (`ingest.sandbox`), where a wall-clock timeout and an
address-space limit catch whatever these checks cannot foresee. Each returns plain data
(front-matter-like header, Markdown-like body, a title found in the file) that the ingest
process validates itself.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import TypedDict

from ingest.errors import DocumentError
from ingest.limits import ParseLimits, human_size
from ingest.pdftext import clean_pdf_text
from ingest.tables import markdown_table

_HTML_META_KEYS = (
    "title",
    "type",
    "owner",
    "review_by",
    "audience",
    "tags",
    "url",
    "description",
    "author",
    "keywords",
    "last_modified",
)
# <meta property="…"> of Open Graph and articles, as front matter keys.
_HTML_META_PROPERTIES = {"article:modified_time": "last_modified", "og:description": "summary"}

# Word's XML packs ~5-20 times; far beyond that, a part is almost surely built to explode.
MAX_COMPRESSION_RATIO = 200
RATIO_CHECKED_FROM = 1_000_000  # small parts cannot hurt whatever their ratio
_DOCX_BODY = "word/document.xml"
_PARAGRAPH_TAG = re.compile(rb"<w:p[\s>/]")
_SCAN_CHUNK = 1 << 20


class Extracted(TypedDict):
    header: dict[str, str]
    body: str
    title: str | None
    notes: list[str]  # what the reader did that the author may want to know
    raw_chars: int  # characters of text the format gave, before clean-up


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


def extract_html(data: bytes) -> Extracted:
    # The input is bounded by COE_MAX_FILE_MB; the tree built from it by the process limits.
    from bs4 import BeautifulSoup

    from ingest.htmltext import html_to_markdown

    soup = BeautifulSoup(decode_text(data), "html.parser")
    header: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or "").strip().lower().replace("-", "_")
        name = _HTML_META_PROPERTIES.get(str(tag.get("property") or "").lower(), name)
        if name in _HTML_META_KEYS + tuple(_HTML_META_PROPERTIES.values()) and tag.get("content"):
            header.setdefault(name, str(tag["content"]))
    raw_chars = len(" ".join((soup.body or soup).get_text(" ").split()))
    body, title, notes = html_to_markdown(soup)
    return Extracted(header=header, body=body, title=title, notes=notes, raw_chars=raw_chars)


def _pdf_page_texts(reader, limits: ParseLimits) -> list[str]:
    count = len(reader.pages)
    if count > limits.max_pdf_pages:
        raise DocumentError(
            f"PDF has {count:,} pages, over the {limits.max_pdf_pages:,} page limit; "
            "split it into smaller documents"
        )
    texts: list[str] = []
    total = 0
    for page in reader.pages:
        text = (page.extract_text() or "").strip()
        total += len(text)
        if total > limits.max_decompressed_bytes:
            raise DocumentError(
                f"PDF holds more than {human_size(limits.max_decompressed_bytes)} of text, "
                "over the limit (raise COE_MAX_DECOMPRESSED_MB to allow it)"
            )
        texts.append(text)
    return texts


def extract_pdf(data: bytes, limits: ParseLimits) -> Extracted:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError("PDF is encrypted; export an unprotected copy")
        texts = _pdf_page_texts(reader, limits)
        info_title = (reader.metadata.title if reader.metadata else None) or None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise DocumentError(f"not a readable PDF: {error}") from None
    if not any(re.search(r"\w", text) for text in texts):
        raise DocumentError("PDF has no extractable text (a scanned image?)")
    body, notes = clean_pdf_text(texts)
    return Extracted(
        header={},
        body=body,
        title=str(info_title).strip() or None if info_title else None,
        notes=notes,
        raw_chars=sum(len(t) for t in texts),
    )


def check_docx_archive(archive: zipfile.ZipFile, limits: ParseLimits) -> None:
    """Refuses a zip bomb from its directory, before anything is unpacked.

    zipfile never unpacks a member past its declared size (it stops there and fails the CRC),
    so the declared sizes bound what python-docx can be made to hold.
    """
    members = archive.infolist()
    total = sum(member.file_size for member in members)
    if total > limits.max_decompressed_bytes:
        raise DocumentError(
            f"unpacks to {human_size(total)}, over the "
            f"{human_size(limits.max_decompressed_bytes)} limit for unpacked Word content "
            "(raise COE_MAX_DECOMPRESSED_MB to allow it)"
        )
    for member in members:
        packed = max(member.compress_size, 1)
        if (
            member.file_size >= RATIO_CHECKED_FROM
            and member.file_size > MAX_COMPRESSION_RATIO * packed
        ):
            raise DocumentError(
                f"its part {member.filename} unpacks {member.file_size // packed:,} times "
                f"larger than it is stored (over {MAX_COMPRESSION_RATIO} times: a zip bomb?)"
            )


def count_docx_paragraphs(archive: zipfile.ZipFile, stop_after: int) -> int:
    """Paragraph tags in the body, counted in a stream: cheap next to building the tree."""
    try:
        stream = archive.open(_DOCX_BODY)
    except KeyError:
        return 0  # python-docx says what is missing
    count = 0
    tail = b""
    with stream:
        while count <= stop_after and (chunk := stream.read(_SCAN_CHUNK)):
            window = tail + chunk
            count += len(_PARAGRAPH_TAG.findall(window))
            # Shorter than a whole match, so nothing is counted twice across chunks.
            tail = window[-4:]
    return count


def _too_many_paragraphs(limits: ParseLimits) -> DocumentError:
    return DocumentError(
        f"has more than {limits.max_paragraphs:,} paragraphs; split it into smaller documents"
    )


def _docx_paragraph(paragraph) -> str | None:
    text = " ".join(paragraph.text.split())
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    level = re.match(r"Heading (\d)", style)
    properties = paragraph._p.pPr
    numbered = properties is not None and properties.numPr is not None
    if style == "Title":
        return f"\n# {text}\n"
    if level:
        return f"\n{'#' * min(int(level.group(1)) + 1, 6)} {text}\n"
    if style.startswith("List") or numbered:
        return f"- {text}"
    return f"\n{text}\n"


def _docx_table(table) -> str:
    """A Markdown table; a merged cell (python-docx repeats one cell object across the columns
    it spans) is written once, in its first column. A one-column table is a text box."""
    rows: list[list[str]] = []
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            if id(cell._tc) in seen:
                cells.append("")
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            rows.append(cells)
    if not rows:
        return ""
    if max(len(r) - r.count("") for r in rows) < 2 or len(rows) < 2:
        return "\n" + "\n\n".join(" ".join(c for c in r if c) for r in rows) + "\n"
    return "\n" + markdown_table(rows) + "\n"


def _docx_lines(document, limits: ParseLimits) -> list[str]:
    """Paragraphs and tables in the order the document has them."""
    from docx.table import Table

    lines: list[str] = []
    paragraphs = 0
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.append(_docx_table(block))
            continue
        paragraphs += 1
        if paragraphs > limits.max_paragraphs:
            raise _too_many_paragraphs(limits)
        line = _docx_paragraph(block)
        if line is not None:
            lines.append(line)
    return lines


def extract_docx(data: bytes, limits: ParseLimits) -> Extracted:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_docx_archive(archive, limits)
            if count_docx_paragraphs(archive, limits.max_paragraphs) > limits.max_paragraphs:
                raise _too_many_paragraphs(limits)
        document = Document(io.BytesIO(data))
        lines = _docx_lines(document, limits)
        core_title = (document.core_properties.title or "").strip() or None
    except etree.XMLSyntaxError as error:
        raise DocumentError(
            f"not a readable Word (.docx) file: XML syntax error: {error}"
        ) from None
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise DocumentError(f"not a readable Word (.docx) file: {error}") from None
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return Extracted(header={}, body=body, title=core_title, notes=[], raw_chars=len(body))


FORMAT_NAMES = {"html": "HTML page", "pdf": "PDF", "docx": "Word (.docx) file"}


def extract(kind: str, data: bytes, limits: ParseLimits) -> Extracted:
    if kind == "html":
        return extract_html(data)
    if kind == "pdf":
        return extract_pdf(data, limits)
    if kind == "docx":
        return extract_docx(data, limits)
    raise DocumentError(f"no parser for {kind!r} files")
