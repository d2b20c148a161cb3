"""Heading-aware chunks that fit the embedding model's 256-word-piece window."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ingest.embedding import MODEL_WINDOW, count_tokens
from ingest.tables import TABLE_ROW, TABLE_RULE

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
                # The sub-heading stays a heading line: run into the text below it, it would
                # read as the start of that text's first sentence.
                sub = " > ".join(section.path[1:])
                heading = f"{'#' * min(len(section.path) + 1, 6)} {sub}\n\n" if sub else ""
                combined = f"{last.text}\n\n{heading}{section.text}"
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


def _segments(text: str) -> list[tuple[bool, str]]:
    """The text cut into runs of table lines (a header row, its |---| rule and the rows
    after it) and runs of other text: (is_table, text)."""
    lines = text.split("\n")
    segments: list[tuple[bool, list[str]]] = []
    i = 0
    while i < len(lines):
        starts_table = (
            TABLE_ROW.match(lines[i]) and i + 1 < len(lines) and TABLE_RULE.match(lines[i + 1])
        )
        if starts_table:
            end = i + 2
            while end < len(lines) and TABLE_ROW.match(lines[end]):
                end += 1
            segments.append((True, lines[i:end]))
            i = end
            continue
        if segments and not segments[-1][0]:
            segments[-1][1].append(lines[i])
        else:
            segments.append((False, [lines[i]]))
        i += 1
    return [(is_table, "\n".join(part).strip("\n")) for is_table, part in segments]


def _table_pieces(table: str, budget: int) -> list[str]:
    """A table in pieces that fit, each starting with the header row and its rule, so every
    row can be read with its column names."""
    header, rule, *rows = table.split("\n")
    head = f"{header}\n{rule}"
    pieces: list[str] = []
    current: list[str] = []
    for row in rows:
        if count_tokens(f"{head}\n{row}") > budget:  # one very wide row: cut it, not the rest
            if current:
                pieces.append("\n".join([head, *current]))
                current = []
            rest = max(32, budget - count_tokens(head))
            pieces.extend(f"{head}\n{part}" for part in _splitter(rest).split_text(row))
            continue
        candidate = "\n".join([head, *current, row])
        if current and count_tokens(candidate) > budget:
            pieces.append("\n".join([head, *current]))
            current = []
        current.append(row)
    if current or not pieces:
        pieces.append("\n".join([head, *current]))
    return pieces


def _pieces(text: str, budget: int) -> list[str]:
    if count_tokens(text) <= budget:
        return [text]
    segments = _segments(text)
    if not any(is_table for is_table, _ in segments):
        return list(_splitter(budget).split_text(text))
    # Tables are cut between rows only (with their header repeated); the text around them as
    # before. Then neighbours are packed together while they fit.
    parts: list[str] = []
    for is_table, segment in segments:
        if not segment.strip():
            continue
        if is_table:
            parts.extend(_table_pieces(segment, budget))
        elif count_tokens(segment) <= budget:
            parts.append(segment.strip())
        else:
            parts.extend(_splitter(budget).split_text(segment))
    pieces: list[str] = []
    for part in parts:
        if pieces and count_tokens(f"{pieces[-1]}\n\n{part}") <= budget:
            pieces[-1] = f"{pieces[-1]}\n\n{part}"
        else:
            pieces.append(part)
    return pieces


def embed_text_for(title: str, heading: str, text: str) -> str:
    return f"{title}\n{heading}\n{text}" if heading else f"{title}\n{text}"


def chunk_document(title: str, body: str) -> list[Chunk]:
    chunks: list[Chunk] = []
    for section in _merge_small(split_sections(body, title)):
        heading = " > ".join(section.path)
        header_tokens = count_tokens(embed_text_for(title, heading, ""))
        # The window holds [CLS], [SEP], the header and the body; keep a little slack.
        budget = max(64, min(CHUNK_TOKENS, MODEL_WINDOW - 2 - header_tokens - 8))
        for piece in _pieces(section.text, budget):
            piece = piece.strip()
            if piece:
                chunks.append(
                    Chunk(len(chunks), heading, piece, embed_text_for(title, heading, piece))
                )
    return chunks
