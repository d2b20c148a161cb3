"""Heading-aware chunks that fit the embedding model's 256-word-piece window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ingest.embedding import MODEL_WINDOW, count_tokens

CHUNK_TOKENS = 200
CHUNK_OVERLAP = 30
_SMALL_SECTION = 60

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Chunk:
    index: int
    heading: str  # "Section > Subsection", empty for text before the first heading
    text: str
    embed_text: str  # what the model and BM25 see: title and heading give context


def split_sections(body: str, title: str) -> list[Section]:
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        text = "\n".join(lines).strip()
        if text:
            path = tuple(h for _, h in stack if h.casefold() != title.casefold())
            sections.append(Section(path, text))
        lines.clear()

    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            lines.append(line)
    flush()
    return sections


def _merge_small(sections: list[Section]) -> list[Section]:
    """Folds runs of tiny sibling sections together: one-line sections embed poorly alone."""
    merged: list[Section] = []
    for section in sections:
        if merged:
            last = merged[-1]
            same_parent = last.path[:1] == section.path[:1]
            small = count_tokens(last.text) < _SMALL_SECTION or count_tokens(section.text) < 25
            if same_parent and small:
                combined = f"{last.text}\n\n{' > '.join(section.path[1:]) or ''}\n{section.text}"
                if count_tokens(combined) <= CHUNK_TOKENS:
                    merged[-1] = Section(last.path[:1] or section.path, combined.strip())
                    continue
        merged.append(section)
    return merged


@cache
def _splitter(chunk_size: int):
    from llama_index.core.node_parser import SentenceSplitter

    from ingest.embedding import wordpieces

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=min(CHUNK_OVERLAP, chunk_size // 4),
        tokenizer=wordpieces,
        paragraph_separator="\n\n",
    )


def embed_text_for(title: str, heading: str, text: str) -> str:
    return f"{title}\n{heading}\n{text}" if heading else f"{title}\n{text}"


def chunk_document(title: str, body: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in _merge_small(split_sections(body, title)):
        heading = " > ".join(section.path)
        header_tokens = count_tokens(embed_text_for(title, heading, ""))
        # The window holds [CLS], [SEP], the header and the body; keep a little slack.
        budget = max(64, min(CHUNK_TOKENS, MODEL_WINDOW - 2 - header_tokens - 8))
        pieces = (
            [section.text]
            if count_tokens(section.text) <= budget
            else (_splitter(budget).split_text(section.text))
        )
        for piece in pieces:
            piece = piece.strip()
            if piece:
                chunks.append(
                    Chunk(len(chunks), heading, piece, embed_text_for(title, heading, piece))
                )
    return chunks
