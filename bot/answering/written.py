"""Answers written by the team's own model from the retrieved passages, checked sentence by
sentence before they are shown.

The search and the answer/decline decision are the extractive path's. The model only writes
when the knowledge base covers the question; every sentence must cite a passage that supports
it (verify.py), so nothing unsupported is shown, not even briefly while streaming. When the
model fails or nothing it wrote survives the checks, the quotes are shown instead, with a note.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.answering.compose import source_for
from bot.answering.decision import PARTIAL
from bot.answering.events import AnswerEvent, Caveat, Final, Found, Status, Verified
from bot.answering.grounded import (
    NOT_IN_SOURCES,
    answer_messages,
    clean_rewrite,
    is_not_in_sources,
    may_become_marker,
    rewrite_messages,
)
from bot.answering.llm import ChatModel, ModelConfig, ModelUnavailable, Usage
from bot.answering.models import Answer, AnswerSentence, Dropped, Source, Written
from bot.answering.retrieval import Passage
from bot.answering.service import MAX_QUESTION_CHARS
from bot.answering.verify import check_claim, parse_claim, split_ready
from ingest.lexical import terms

if TYPE_CHECKING:
    from bot.answering.service import AnswerService
    from bot.settings import Settings

log = logging.getLogger(__name__)

PASSAGES_FOR_MODEL = 5
REWRITE_TOKENS = 120
SEARCHING = "searching the knowledge base…"
WRITING = "writing an answer from the sources…"
# Why a record has no written sentences although nothing failed.
NOT_ASKED = "the knowledge base does not cover the question"
MODEL_DECLINED = "the model found no answer in the sources"
CAVEAT = "This may not answer your question: the knowledge base covers it only in part."


@dataclass
class _Draft:
    """The answer being assembled from verified sentences."""

    passages: list[Passage]
    numbers: dict[str, int] = field(default_factory=dict)  # doc_id → source number
    sources: list[Source] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    terms: dict[str, set[str]] = field(default_factory=dict)  # chunk id → its words


class AnswerWriter:
    def __init__(self, model: ChatModel) -> None:
        self.model = model

    @property
    def model_name(self) -> str:
        return self.model.name

    def write(
        self,
        service: AnswerService,
        question: str,
        staff: bool,
        context: str,
        turns: list[tuple[str, str]],
    ) -> Iterator[AnswerEvent]:
        service.warm_up_embedder()  # loading the embedding model is start-up, not answer time
        started = time.perf_counter()
        # COE_LLM_TIMEOUT_S bounds all the model's work for one question, retries included.
        deadline = time.monotonic() + self.model.config.timeout_s
        usage = Usage()
        record = Written(model=self.model.name)
        yield Status(SEARCHING)
        asked = question[:MAX_QUESTION_CHARS]
        query = asked
        if turns or context:
            standalone = self._standalone(asked, turns or [(context, "")], deadline, usage)
            if standalone is None:
                # As without a model: the follow-up is searched with the thread's questions.
                earlier = context or " ".join(q for q, _ in turns)
                query = f"{asked} {earlier}"[:MAX_QUESTION_CHARS]
            else:
                asked = query = standalone
                record.standalone_question = standalone
        found = service.find(asked, query, staff)
        if not found.answerable:
            answer = service.extractive(found)  # the honest decline; no need for the model
            record.fallback = NOT_ASKED
        else:
            yield Status(WRITING)
            answer = yield from self._written(service, found, deadline, usage, record, started)
        answer.question = question
        answer.written = record
        record.tokens_in, record.tokens_out = usage.tokens_in, usage.tokens_out
        record.total_ms = _ms_since(started)
        service.link_sources(answer)
        answer.latency_ms = record.total_ms
        yield Final(answer)

    def _standalone(
        self, question: str, turns: list[tuple[str, str]], deadline: float, usage: Usage
    ) -> str | None:
        """The follow-up as a question of its own, or None when the model cannot say."""
        try:
            text, used = self.model.complete(
                rewrite_messages(question, turns), deadline, max_tokens=REWRITE_TOKENS
            )
        except ModelUnavailable as error:
            log.info("follow-up not rewritten (%s); searching it with the thread", error.reason)
            return None
        usage.add(used)
        return clean_rewrite(text, question)

    def _written(
        self,
        service: AnswerService,
        found: Found,
        deadline: float,
        usage: Usage,
        record: Written,
        started: float,
    ) -> Generator[AnswerEvent, None, Answer]:
        """Yields each verified sentence; returns the final answer."""
        draft = _Draft(found.result.passages[:PASSAGES_FOR_MODEL])
        reply = ""
        consumed = 0  # how much of the reply has been cut into sentences
        failure: str | None = None
        partial = found.verdict == PARTIAL
        if partial:
            yield Caveat(CAVEAT)
        stream = None
        try:
            stream = self.model.stream(answer_messages(found.question, draft.passages), deadline)
            for piece in stream:
                reply += piece
                if may_become_marker(reply):
                    continue  # hold back until it is clear this is not "not in the sources"
                ready, rest = split_ready(reply[consumed:])
                consumed = len(reply) - len(rest)
                for raw in ready:
                    yield from self._consider(service, found, draft, raw, record, started)
        except ModelUnavailable as error:
            failure = error.reason
        finally:
            if stream is not None:
                usage.add(stream.usage)  # what a cut-short stream reported still counts
        if failure is None and not is_not_in_sources(reply):
            ready, _ = split_ready(reply[consumed:], final=True)
            for raw in ready:
                yield from self._consider(service, found, draft, raw, record, started)
        record.kept = len(draft.sentences)
        if not draft.sentences:
            if failure is None and NOT_IN_SOURCES in reply.upper():
                record.fallback = MODEL_DECLINED
                return service.decline(found, near=True)
            reason = failure or (
                "no sentence could be checked against the sources"
                if reply.strip()
                else "the model wrote nothing"
            )
            record.fallback = reason
            answer = service.extractive(found)
            if not answer.abstained:
                answer.note = (
                    f"Quoted from the sources: the written answer was not usable ({reason})."
                )
            return answer
        text = " ".join(f"{s.text} {s.markers}" for s in draft.sentences)
        note = None
        if failure is not None:
            note = f"The written answer was cut short ({failure})."
        elif record.dropped:
            n = len(record.dropped)
            note = (
                f"{n} sentence{'s' if n > 1 else ''} of the written answer "
                f"{'were' if n > 1 else 'was'} left out: the sources do not support "
                f"{'them' if n > 1 else 'it'}."
            )
        return Answer(
            question=found.question,
            abstained=False,
            outcome="partial" if partial else "answered",
            answer=text,
            sentences=draft.sentences,
            sources=draft.sources,
            checklist=service.checklist_for(found),
            searched_documents=found.searched,
            evidence=found.evidence,
            note=note,
        )

    def _consider(
        self,
        service: AnswerService,
        found: Found,
        draft: _Draft,
        raw: str,
        record: Written,
        started: float,
    ) -> Iterator[AnswerEvent]:
        claim = parse_claim(raw, len(draft.passages))
        if not claim.text.strip("-*• "):
            return
        if not claim.cited and not claim.missing and claim.text.endswith(":"):
            return  # "The steps are:" leads into what follows; it claims nothing itself
        cited = [draft.passages[n - 1] for n in claim.cited]
        sources = [f"{p.chunk.title}\n{p.chunk.heading}\n{p.chunk.text}" for p in cited]
        source_terms: set[str] = set()
        for passage in cited:
            chunk = passage.chunk
            if chunk.id not in draft.terms:
                known = found.loaded.passage_terms.get(chunk.id)
                draft.terms[chunk.id] = set(known) if known else set(terms(chunk.embed_text))
            source_terms |= draft.terms[chunk.id]

        def meaning() -> float:
            vector = service.embed([claim.text])[0]
            return service.piece_similarity(found, cited, vector)

        verdict = check_claim(claim, sources, set(terms(claim.text)), source_terms, meaning)
        if not verdict.kept:
            record.dropped.append(Dropped(text=claim.text or raw, reason=verdict.reason))
            log.info("dropped a written sentence (%s): %s", verdict.reason, claim.text[:200])
            return
        numbers: list[int] = []
        for passage in cited:
            doc = passage.chunk.doc_id
            if doc not in draft.numbers:
                draft.numbers[doc] = len(draft.numbers) + 1
                draft.sources.append(source_for(draft.numbers[doc], passage, service.today()))
            if draft.numbers[doc] not in numbers:
                numbers.append(draft.numbers[doc])
        sentence = AnswerSentence(
            text=claim.text,
            source_number=numbers[0],
            kind="item" if claim.item else "sentence",
            source_numbers=numbers,
        )
        draft.sentences.append(sentence)
        if record.first_sentence_ms is None:
            record.first_sentence_ms = _ms_since(started)
        yield Verified(sentence)


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def writer_from(settings: Settings) -> AnswerWriter | None:
    """The writer for the configured model, or None (answers stay quotes)."""
    if not settings.llm_configured:
        return None
    assert settings.llm_base_url and settings.llm_model
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return AnswerWriter(
        ChatModel(
            ModelConfig(
                base_url=settings.llm_base_url,
                model=settings.llm_model,
                api_key=key,
                timeout_s=settings.llm_timeout_s,
                max_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
            )
        )
    )
