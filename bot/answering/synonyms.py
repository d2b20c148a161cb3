"""Query expansion for keyword search from the CoE's own synonyms list (knowledge/synonyms.yaml).

Dense retrieval already matches paraphrases; BM25 only sees words, so "ship" never finds
documents that say "launch" unless told.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import yaml

from ingest import bundled_knowledge_dir


def default_synonyms_file() -> Path:
    return bundled_knowledge_dir() / "synonyms.yaml"


@cache
def load_synonyms(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    path = path or default_synonyms_file()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return {}
    return {
        str(key).lower(): tuple(str(v) for v in (value if isinstance(value, list) else [value]))
        for key, value in data.items()
    }


def expand(query: str, synonyms: dict[str, tuple[str, ...]]) -> str:
    lowered = query.lower()
    extra = [
        word
        for phrase, words in synonyms.items()
        if re.search(rf"\b{re.escape(phrase)}\b", lowered)
        for word in words
    ]
    return f"{query} {' '.join(extra)}" if extra else query
