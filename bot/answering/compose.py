"""Builds the extractive answer: the best sentences of the best passages, each cited.

Pure functions only: the same inputs give the same answer, whichever surface shows it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.answering.intent import Intent, intent_bonus
from bot.answering.models import Answer, AnswerSentence, ChecklistLink, Evidence, Source
from bot.answering.retrieval import Passage
from bot.answering.units import (
    ITEM,
    ROW,
    SENTENCE,
    Unit,
    is_non_answer,
    near_duplicate,
    quotable_units,
    split_units,
)

DEFAULT_HELP_CHANNEL = "#ai-coe-help"
MAX_SENTENCES = 3
MAX_PER_PASSAGE = 2
PASSAGES_CONSIDERED = 5
MAX_SOURCES = 4
SEE_ALSO_SIMILARITY = 0.85
CHECKLIST_RANK = 3
SEMANTIC_WEIGHT = 0.8
MAX_LIST_ITEMS = 8
LIST_PREFERENCE = 0.3  # how far a list may trail the best sentence and still be the answer
MAX_TABLE_ROWS = 3

# The meaning of each quotable piece of a passage against the question (cosine, in the
# order of `quotable_units`), or None to judge by words alone.
Semantic = Callable[[Passage, list[Unit]], list[float]]


@dataclass(frozen=True)
class _Candidate:
    unit: Unit
    passage_rank: int
    score: float

    @property
    def text(self) -> str:
        return self.unit.as_quote()


@dataclass(frozen=True)
class Pick:
    """One quoted piece of the answer and the passage it comes from."""

    text: str
    passage_rank: int
    kind: str = SENTENCE


def units(text: str) -> list[str]:
    """Quotable sentences, list items and table rows of a passage (for tests and tools)."""
    return [u.as_quote() for u in quotable_units(text)]


def _lexical(unit: Unit, query_terms: set[str], terms_of: Callable[[str], list[str]]) -> float:
    if not query_terms:
        return 0.0
    words = set(terms_of(unit.as_quote()))
    context = set(terms_of(f"{unit.heading} {unit.lead}")) - words
    # The heading and the list's lead-in say what a line is about, at half weight.
    return (len(words & query_terms) + 0.5 * len(context & query_terms)) / len(query_terms)


def _candidates(
    passages: list[Passage],
    query_terms: set[str],
    terms_of: Callable[[str], list[str]],
    intent: Intent,
    semantic: Semantic | None,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    for rank, passage in enumerate(passages[:PASSAGES_CONSIDERED]):
        pieces = quotable_units(passage.chunk.text, passage.chunk.heading)
        meanings = semantic(passage, pieces) if semantic is not None else [0.0] * len(pieces)
        for unit, meaning in zip(pieces, meanings, strict=True):
            score = _lexical(unit, query_terms, terms_of) + intent_bonus(intent, unit)
            # Better passages and earlier lines carry the point more often than not; a
            # clause starting in lower case continues a lead-in and reads badly alone.
            score += 0.2 / (rank + 1) + 0.05 / (unit.order + 1) + SEMANTIC_WEIGHT * meaning
            if unit.kind == SENTENCE and unit.text[:1].islower():
                score -= 0.3
            found.append(_Candidate(unit, rank, score))
    found.sort(key=lambda c: (-c.score, c.passage_rank, c.unit.order))
    return found


def _list_answer(best: _Candidate, passages: list[Passage]) -> list[Pick]:
    """The whole list the best item belongs to, short items included, capped."""
    unit = best.unit
    siblings = [
        u
        for u in split_units(
            passages[best.passage_rank].chunk.text, passages[best.passage_rank].chunk.heading
        )
        if u.kind == ITEM and u.block == unit.block and not is_non_answer(u)
    ]
    picks: list[Pick] = []
    if unit.lead and not is_non_answer(Unit(unit.lead, SENTENCE, unit.block, 0, unit.heading)):
        picks.append(Pick(unit.lead, best.passage_rank))
    for item in siblings[:MAX_LIST_ITEMS]:
        picks.append(Pick(item.text, best.passage_rank, ITEM))
    if len(siblings) > MAX_LIST_ITEMS:
        more = len(siblings) - MAX_LIST_ITEMS
        picks.append(Pick(f"…and {more} more in the source", best.passage_rank, "more"))
    return picks


def _table_answer(best: _Candidate, ranked: list[_Candidate]) -> list[Pick]:
    rows = [
        c
        for c in ranked
        if c.unit.kind == ROW
        and c.passage_rank == best.passage_rank
        and c.unit.block == best.unit.block
    ][:MAX_TABLE_ROWS]
    return [Pick(c.text, c.passage_rank, ROW) for c in rows]


def pick_quotes(
    passages: list[Passage],
    query_terms: set[str],
    terms_of: Callable[[str], list[str]],
    intent: Intent = Intent.OTHER,
    semantic: Semantic | None = None,
    limit: int = MAX_SENTENCES,
) -> list[Pick]:
    """The pieces that answer the question: a whole list, table rows, or a few sentences."""
    ranked = _candidates(passages, query_terms, terms_of, intent, semantic)
    if not ranked:
        return []
    best = ranked[0]
    if intent in (Intent.LIST, Intent.HOW) and best.unit.kind != ITEM:
        # A list-shaped question is answered by a list that comes close to the best sentence.
        item = next((c for c in ranked if c.unit.kind == ITEM and c.passage_rank < 2), None)
        allowance = LIST_PREFERENCE if intent is Intent.HOW else 2 * LIST_PREFERENCE
        if item is not None and item.score >= best.score - allowance:
            best = item
    wants_list = intent in (Intent.LIST, Intent.HOW) or best.unit.words < 4
    if best.unit.kind == ITEM and (wants_list or len(ranked) < 2):
        return _list_answer(best, passages)
    if best.unit.kind == ROW and best.unit.header:
        return _table_answer(best, ranked)
    chosen: list[_Candidate] = []
    per_passage: dict[int, int] = {}
    for candidate in ranked:
        if per_passage.get(candidate.passage_rank, 0) >= MAX_PER_PASSAGE:
            continue
        if candidate.unit.kind == ITEM and candidate.unit.words < 4:
            continue  # a short item ("Drift") only makes sense inside its list
        if any(near_duplicate(candidate.text, c.text) for c in chosen):
            continue
        chosen.append(candidate)
        per_passage[candidate.passage_rank] = per_passage.get(candidate.passage_rank, 0) + 1
        if len(chosen) == limit:
            break
    return [Pick(c.text, c.passage_rank, c.unit.kind) for c in chosen]


def source_for(number: int, passage: Passage, today: date, cited: bool = True) -> Source:
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
    intent: Intent = Intent.OTHER,
    semantic: Semantic | None = None,
    partial: bool = False,
) -> Answer:
    """Quotes that answer the question, each cited. `partial`: only the single closest
    quote, for an answer the evidence does not fully support (the caller says so)."""
    picked = pick_quotes(
        passages,
        set(query_terms),
        terms_of,
        intent,
        semantic,
        limit=1 if partial else MAX_SENTENCES,
    )
    if partial:
        picked = picked[:1] if picked and picked[0].kind != ITEM else picked[: MAX_LIST_ITEMS + 2]
    numbers: dict[str, int] = {}
    sources: list[Source] = []
    sentences: list[AnswerSentence] = []
    for pick in picked:
        passage = passages[pick.passage_rank]
        doc = passage.chunk.doc_id
        if doc not in numbers:
            numbers[doc] = len(numbers) + 1
            sources.append(source_for(numbers[doc], passage, today))
        sentences.append(AnswerSentence(text=pick.text, source_number=numbers[doc], kind=pick.kind))
    # Further strong documents are listed for reading on, after the cited ones.
    for passage in passages:
        if partial or len(sources) >= MAX_SOURCES:
            break
        doc = passage.chunk.doc_id
        strong = (
            passage.similarity is not None
            and passage.keyword_score
            and passage.similarity >= SEE_ALSO_SIMILARITY * evidence.similarity
        )
        if doc not in numbers and strong:
            numbers[doc] = len(numbers) + 1
            sources.append(source_for(numbers[doc], passage, today, cited=False))
    text = " ".join(
        s.text if s.kind == "more" else f"{s.text} [{s.source_number}]" for s in sentences
    )
    return Answer(
        question=question,
        abstained=False,
        outcome="partial" if partial else "answered",
        answer=text,
        sentences=sentences,
        sources=sources,
        checklist=None if partial else checklist,
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
    help_channel: str = DEFAULT_HELP_CHANNEL,
) -> Answer:
    documents = f"{searched_documents} document{'' if searched_documents == 1 else 's'}"
    where = f"ask in {help_channel} or file" if help_channel else "file"
    if near_miss:
        text = (
            f"I could not find a confident answer in the CoE knowledge base (I searched "
            f"{documents}), so I will not guess. A CoE expert can help — {where} a "
            "consultation request."
        )
    else:
        text = (
            f"The CoE knowledge base does not cover this: I searched {documents} and found "
            f"nothing that answers it, so I will not guess. A CoE expert can help — {where} a "
            "consultation request."
        )
    related: list[Source] = []
    if near_miss:
        seen: set[str] = set()
        for passage in passages:
            if passage.chunk.doc_id not in seen:
                seen.add(passage.chunk.doc_id)
                related.append(source_for(len(related) + 1, passage, today, cited=False))
            if len(related) == 2:
                break
    return Answer(
        question=question,
        abstained=True,
        outcome="declined",
        answer=text,
        searched_documents=searched_documents,
        related=related,
        evidence=evidence,
    )
