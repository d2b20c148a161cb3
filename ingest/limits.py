"""How much work one document may cost: bytes, unpacked bytes, paragraphs, pages, seconds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MB = 1_000_000


@dataclass(frozen=True)
class ParseLimits:
    max_decompressed_bytes: int = 100 * MB  # a .docx unpacked, or the text taken from a PDF
    timeout_s: float = 60.0  # wall clock for one pdf/docx/html parse in the parser process
    memory_bytes: int = 1024 * MB  # address space of the parser process
    max_paragraphs: int = 100_000  # a .docx of 1,000 pages has ~30,000
    max_pdf_pages: int = 2_000

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def human_size(size: int | float) -> str:
    return f"{size / MB:,.1f} MB" if size >= 100_000 else f"{int(size):,} bytes"


def human_seconds(seconds: float) -> str:
    return f"{seconds:g} s"
