"""Builds the extractive answer: the best sentences of the best passages, each cited.

Pure functions only: the same inputs give the same answer, whichever surface shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.answering.models import Answer, AnswerSentence, ChecklistLink, Evidence, Source
from bot.answering.retrieval import Passage

MAX_SENTENCES = 3
MAX_PER_PASSAGE = 2
PASSAGES_CONSIDERED = 4
MAX_SOURCES = 4
SEE_ALSO_SIMILARITY = 0.85
CHECKLIST_RANK = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(“])")
_LIST_MARKER = re.compile(r"^\s*(?:[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_EMPHASIS = re.compile(r"(\*\*|__|`)")


@dataclass(frozen=True)
class _Candidate:
    text: str
    passage_rank: int
    order: int
    score: float


def units(text: str) -> list[str]:
    """Sentences and list items of a passage, stripped of Markdown markup."""
    found: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            found.extend(s.strip() for s in _SENTENCE_END.split(" ".join(paragraph)) if s.strip())
            paragraph.clear()

    header_row: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if _TABLE_RULE.match(line) and header_row is not None and found[-1:] == [header_row]:
            found.pop()  # the row above a |---| rule is a table header, not a statement
            continue
        header_row = None
        if not line or line.startswith("#") or _TABLE_RULE.match(line):
            flush()
            continue
        if line.startswith("|"):
            flush()
            cells = [c.strip() for c in line.strip("|").split("|") if c.strip()]
            header_row = " — ".join(cells)
            found.append(header_row)
            continue
        if _LIST_MARKER.match(line):
            flush()
            item = _LIST_MARKER.sub("", line, count=1)
            found.extend(part.strip() for part in _SENTENCE_END.split(item) if part.strip())
            continue
        paragraph.append(line)
    flush()
    # A line ending in ':' only introduces what follows; alone it answers nothing.
    return [_EMPHASIS.sub("", u) for u in found if len(u.split()) >= 3 and not u.endswith(":")]


def _pick_sentences(
    passages: list[Passage], query_terms: set[str], terms_of: Callable[[str], list[str]]
) -> list[_Candidate]:
    candidates: list[_Candidate] = []
    for rank, passage in enumerate(passages[:PASSAGES_CONSIDERED]):
        for order, sentence in enumerate(units(passage.chunk.text)):
            words = set(terms_of(sentence))
            overlap = len(words & query_terms) / len(query_terms) if query_terms else 0.0
            # Earlier passages and earlier sentences carry the point more often than not;
            # a clause that starts in lower case continues a lead-in and reads badly alone.
            score = overlap + 0.25 / (rank + 1) + 0.05 / (order + 1)
            if sentence[:1].islower():
                score -= 0.3
            candidates.append(_Candidate(sentence, rank, order, score))
    chosen: list[_Candidate] = []
    per_passage: dict[int, int] = {}
    for candidate in sorted(candidates, key=lambda c: (-c.score, c.passage_rank, c.order)):
        if per_passage.get(candidate.passage_rank, 0) >= MAX_PER_PASSAGE:
            continue
        if any(candidate.text == c.text for c in chosen):
            continue
        chosen.append(candidate)
        per_passage[candidate.passage_rank] = per_passage.get(candidate.passage_rank, 0) + 1
        if len(chosen) == MAX_SENTENCES:
            break
    if chosen and all(c.passage_rank != 0 for c in chosen):
        # The best passage always has its say, even when its wording differs from the question.
        top = [c for c in candidates if c.passage_rank == 0]
        if top:
            chosen = [max(top, key=lambda c: c.score), *chosen[: MAX_SENTENCES - 1]]
    chosen.sort(key=lambda c: -c.score)
    return chosen


def _source(number: int, passage: Passage, today: date, cited: bool = True) -> Source:
    chunk = passage.chunk
    return Source(
        number=number,
        title=chunk.title,
        source=chunk.source,
        url=chunk.url,
        doc_id=chunk.doc_id,
        owner=chunk.owner,
        review_by=chunk.review_by,
        stale=chunk.is_stale(today),
        audience=chunk.audience,
        doc_type=chunk.doc_type,
        heading=chunk.heading,
        text=chunk.text,
        cited=cited,
    )


def find_checklist(
    question_terms: set[str],
    passages: list[Passage],
    checklist_items: Callable[[str], tuple[int, int] | None],
) -> ChecklistLink | None:
    """A checklist among the top documents is worth linking; asking for one widens the net."""
    wants_checklist = bool(question_terms & {"checklist", "list", "readi", "step"})
    documents: list[str] = []
    for passage in passages:
        chunk = passage.chunk
        if chunk.doc_id not in documents:
            documents.append(chunk.doc_id)
        if not wants_checklist and len(documents) > CHECKLIST_RANK:
            break
        if chunk.doc_type != "checklist":
            continue
        counts = checklist_items(chunk.doc_id)
        if counts is None:
            continue
        items, sections = counts
        return ChecklistLink(
            title=chunk.title,
            source=chunk.source,
            url=chunk.url,
            doc_id=chunk.doc_id,
            item_count=items,
            section_count=sections,
        )
    return None


def compose_answer(
    question: str,
    passages: list[Passage],
    query_terms: list[str],
    terms_of: Callable[[str], list[str]],
    checklist: ChecklistLink | None,
    evidence: Evidence,
    searched_documents: int,
    today: date,
) -> Answer:
    picked = _pick_sentences(passages, set(query_terms), terms_of)
    numbers: dict[str, int] = {}
    sources: list[Source] = []
    sentences: list[AnswerSentence] = []
    for candidate in picked:
        passage = passages[candidate.passage_rank]
        doc = passage.chunk.doc_id
        if doc not in numbers:
            numbers[doc] = len(numbers) + 1
            sources.append(_source(numbers[doc], passage, today))
        sentences.append(AnswerSentence(text=candidate.text, source_number=numbers[doc]))
    # Further strong documents are listed for reading on, after the cited ones.
    for passage in passages:
        if len(sources) >= MAX_SOURCES:
            break
        doc = passage.chunk.doc_id
        strong = (
            passage.similarity is not None
            and passage.keyword_score
            and passage.similarity >= SEE_ALSO_SIMILARITY * evidence.similarity
        )
        if doc not in numbers and strong:
            numbers[doc] = len(numbers) + 1
            sources.append(_source(numbers[doc], passage, today, cited=False))
    text = " ".join(f"{s.text} [{s.source_number}]" for s in sentences)
    return Answer(
        question=question,
        abstained=False,
        answer=text,
        sentences=sentences,
        sources=sources,
        checklist=checklist,
        searched_documents=searched_documents,
        evidence=evidence,
    )


def compose_abstention(
    question: str,
    passages: list[Passage],
    evidence: Evidence,
    searched_documents: int,
    near_miss: bool,
    today: date,
) -> Answer:
    documents = f"{searched_documents} document{'' if searched_documents == 1 else 's'}"
    if near_miss:
        text = (
            f"I could not find a confident answer in the CoE knowledge base (I searched "
            f"{documents}), so I will not guess. A CoE expert can help — ask in #ai-coe-help "
            "or file a consultation request."
        )
    else:
        text = (
            f"The CoE knowledge base does not cover this: I searched {documents} and found "
            "nothing that answers it, so I will not guess. A CoE expert can help — ask in "
            "#ai-coe-help or file a consultation request."
        )
    related: list[Source] = []
    if near_miss:
        seen: set[str] = set()
        for passage in passages:
            if passage.chunk.doc_id not in seen:
                seen.add(passage.chunk.doc_id)
                related.append(_source(len(related) + 1, passage, today, cited=False))
            if len(related) == 2:
                break
    return Answer(
        question=question,
        abstained=True,
        answer=text,
        searched_documents=searched_documents,
        related=related,
        evidence=evidence,
    )
