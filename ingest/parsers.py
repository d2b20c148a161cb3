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

_HTML_META_KEYS = ("title", "type", "owner", "review_by", "audience", "tags", "url")
_HTML_BLOCKS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "td", "th", "dt", "dd"]

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

    soup = BeautifulSoup(decode_text(data), "html.parser")
    header: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        name = str(tag.get("name") or "").strip().lower().replace("-", "_")
        if name in _HTML_META_KEYS and tag.get("content"):
            header[name] = str(tag["content"])
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup(["script", "style", "noscript", "template", "head"]):
        tag.decompose()
    lines: list[str] = []
    for element in (soup.body or soup).find_all(_HTML_BLOCKS):
        if element.find(_HTML_BLOCKS):
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
    return Extracted(header=header, body="\n".join(lines), title=page_title or None)


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
    text = "\n\n".join(texts)
    if not re.search(r"\w", text):
        raise DocumentError("PDF has no extractable text (a scanned image?)")
    return Extracted(header={}, body=text, title=str(info_title) if info_title else None)


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


def _docx_lines(document, limits: ParseLimits) -> list[str]:
    lines: list[str] = []
    for number, paragraph in enumerate(document.paragraphs):
        if number >= limits.max_paragraphs:
            raise _too_many_paragraphs(limits)
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
            lines.append(" | ".join(cell.text.strip() for cell in row.cells))
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
    return Extracted(header={}, body="\n".join(lines), title=core_title)


FORMAT_NAMES = {"html": "HTML page", "pdf": "PDF", "docx": "Word (.docx) file"}


def extract(kind: str, data: bytes, limits: ParseLimits) -> Extracted:
    if kind == "html":
        return extract_html(data)
    if kind == "pdf":
        return extract_pdf(data, limits)
    if kind == "docx":
        return extract_docx(data, limits)
    raise DocumentError(f"no parser for {kind!r} files")
