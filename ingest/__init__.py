"""Turns knowledge documents into a searchable index (Chroma + BM25) under a data directory."""

from pathlib import Path

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")


def bundled_knowledge_dir() -> Path:
    """The knowledge base shipped with the package (installed wheel) or the checkout's copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "knowledge", here.parent / "knowledge"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the bundled knowledge base is missing from this installation")
